/* libFuzzer target: every tool's first contact with untrusted JSON.
 * ctrk_json_parse (the strict reading) and ctrk_descriptor_validate must
 * never crash, leak or read out of bounds, whatever the bytes; what they
 * accept must survive a render and a second strict parse unchanged (no
 * reading in which a second reader would see something else). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"
#include "json.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ctrk_error_t err = {0};
	cJSON *doc = ctrk_json_parse((const char *)data, size, "fuzz", &err);
	if (!doc)
		return 0;
	(void)ctrk_descriptor_validate(doc, &err);
	char *text = ctrk_json_render(doc, false);
	cJSON *again = ctrk_json_parse(text, strlen(text), "fuzz again", &err);
	if (!again || !cJSON_Compare(doc, again, true))
		abort(); /* accepted once, read otherwise the second time */
	cJSON_Delete(again);
	free(text);
	cJSON_Delete(doc);
	return 0;
}
