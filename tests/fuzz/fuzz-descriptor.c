/* libFuzzer target: every tool's first contact with untrusted JSON.
 * ctrk_json_parse (the strict reading) and ctrk_descriptor_validate must
 * never crash, leak or read out of bounds, whatever the bytes; what they
 * accept must survive a render and a second strict parse unchanged (no
 * reading in which a second reader would see something else), compact or
 * indented.  Every typed getter is tried on every field of the document and
 * of the objects in it, whatever its type: a conversion that is undefined
 * for some value (an integer of 7.7e99 was) is found on any key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"
#include "json.h"

static void
try_getters(const cJSON *obj, int depth)
{
	const cJSON *item;
	int n = 0;
	/* Each getter looks its key up from the start: a bound keeps an
	 * object of thousands of keys from slowing every run down. */
	cJSON_ArrayForEach(item, obj)
	{
		if (n++ == 32)
			break;
		ctrk_error_t err = {0};
		const char *str = NULL;
		long long num = 0;
		const cJSON *sub = NULL;
		if (!item->string)
			abort(); /* a member of an object has a key */
		if ((ctrk_json_get_string(obj, item->string, true, &str, "fuzz", &err) == 0) != cJSON_IsString(item))
			abort();
		if (ctrk_json_get_int64(obj, item->string, true, &num, "fuzz", &err) == 0 &&
		    (!cJSON_IsNumber(item) || (double)num != item->valuedouble))
			abort(); /* an integer that is not the number written */
		(void)ctrk_json_get_object(obj, item->string, true, &sub, "fuzz", &err);
		(void)ctrk_json_get_array(obj, item->string, true, &sub, "fuzz", &err);
		(void)ctrk_json_get_string_array(obj, item->string, true, &sub, "fuzz", &err);
		if (cJSON_IsObject(item) && depth < 3)
			try_getters(item, depth + 1);
	}
}

static void
reread(const cJSON *doc, bool pretty)
{
	ctrk_error_t err = {0};
	char *text = ctrk_json_render(doc, pretty);
	cJSON *again = ctrk_json_parse(text, strlen(text), "fuzz again", &err);
	if (!again || !cJSON_Compare(doc, again, true))
		abort(); /* accepted once, read otherwise the second time */
	cJSON_Delete(again);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ctrk_error_t err = {0};
	cJSON *doc = ctrk_json_parse((const char *)data, size, "fuzz", &err);
	if (!doc)
		return 0;
	(void)ctrk_descriptor_validate(doc, &err);
	if (cJSON_IsObject(doc))
		try_getters(doc, 0);
	reread(doc, false);
	reread(doc, true);
	cJSON_Delete(doc);
	return 0;
}
