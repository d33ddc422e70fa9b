/* The error idiom: ctrk_error_wrap keeps why a step failed, also when the
 * context quotes something long. */
#include <stdbool.h>
#include <string.h>

#include "error.h"
#include "reference.h"
#include "tap.h"

/* Found by make fuzz (fuzz-reference): a 961-character reference was
 * refused with "invalid reference '<all of it>': repository name must not
 * be more than 25", the reason cut off by its own quotation. */
static const char long_reference[] =
	"quay.uayuay0-rb/c__d0a-yrd.d.ay.uay0-rb/c__dind0a-yr.ay.uay0-rb/c__ub/a__c.rc_1_u0a.e_u127.0.1a."
	"0eb/c__d.e_urb/c__d0a-yrd.d.ay.uay0-ryrd.ay.uay0-rb__d.e_u0a-r.io.0u.a.y.y.y.d.p.ab/c__d.0a-yrde"
	"_ub/c__c.e-rc_2_u0a.e.0.y.d.p.ab/c__d.0yrd.ay.uay0-rb/c__d_u0a-yuay0-rb/c__d.e_u0ay-d.ay.uayc__d"
	".e_u0a_1_u0a.e_u127.0.0a.0e_uae_u0--b/c__d.e_uay.uay0-rb0.0.u.a.y.docy.ay.uay0-r.e_u0a-yrde_ub/c"
	"__c.e-rc_1_u0a.e.0u.a.y.y.y.d.p.abc__d.0a-yrd.ay.uay0-rb/c__d.e_u0a-yrd.e_uay.uay0-rb/c__d.e--b/"
	"c__d.e_uayy0-aq.uay0-rb/cy.uac__d.e_u0a-yrd.e_ub/c__c.e-rc_1_u0a.e_u1.0e_uay/0y/0-rc8_10-rc8_1yr"
	"de_ub/c__c.e-rc_2_u0a.e.0.y.d.p.ab/c__d.0yrd.ay.uay0-rb/c__d_u0a-yuay0-rb/c__d.e_u0ay-d.ay.uayc_"
	"_d.e_u0a_1_u0a.e_u127.0.0a.0e_uae_u0--b/c__d.e_uay.uay0-rb0.0.u.a.y.docy.ay.uay0-r.e_u0a-yrde_ub"
	"/c__c.e-rc_1_u0a.e.0u.a.y.y.y.d.p.ab/c__d.0a-yrd.ay.uay0-rb/c__d.e_u0a-yrd.e_uay.uay0-rb/c__d.e-"
	"-b/c__d.e_uayy0-aq.uay0-rb/cy.uac__d.e_u0a-yrd.e_ub/c__c.e-rc_1_u0a.e_u1.0e_uay/0y/0-rc8_10-rc8_"
	"1";

static bool
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
		if (n < 0)
			return false;
		for (p++; n > 0; n--, p++)
			if ((*p & 0xC0) != 0x80)
				return false;
	}
	return true;
}

static void
test_short(void)
{
	ctrk_error_t err = {0};
	ctrk_error_set(&err, 0, "cause");
	ctrk_error_wrap(&err, "step '%s'", "x");
	ctrk_error_wrap(&err, "outer");
	is_str(err.msg, "outer: step 'x': cause", "short contexts are joined whole");
}

static void
test_long_reference(void)
{
	ctrk_reference_t ref;
	ctrk_error_t err = {0};
	ok(sizeof long_reference - 1 == 961, "the input is the 961 bytes make fuzz found");
	ok(ctrk_reference_parse(long_reference, &ref, &err) < 0, "a 961-character reference is refused");
	printf("# %s\n", err.msg);
	ok(strncmp(err.msg, "invalid reference 'quay.uayuay0-rb/", 35) == 0, "the message says what was refused");
	ok(strstr(err.msg, "...: repository name must not be more than 255 characters") != NULL,
	   "and why, whole, after the quotation cut short");
	ok(strlen(err.msg) < CTRK_ERROR_MAX, "within the buffer");
}

/* As ctrk-pull reports it: the reference quoted twice, by the step and by
 * the parser; the cause (a bad tag) must survive both. */
static void
test_quoted_twice(void)
{
	char s[600];
	memset(s, 'a', 400);
	s[400] = ':';
	memset(s + 401, '-', 100);
	s[501] = '\0';
	ctrk_reference_t ref;
	ctrk_error_t err = {0};
	ok(ctrk_reference_parse(s, &ref, &err) < 0, "a 501-character reference with a bad tag is refused");
	ctrk_error_wrap(&err, "pulling '%s'", s);
	printf("# %s\n", err.msg);
	ok(strncmp(err.msg, "pulling 'aaaa", 13) == 0, "the outer context starts the message");
	ok(strstr(err.msg, "...: invalid reference 'aaaa") != NULL, "then the parser's, the first cut short");
	ok(strstr(err.msg, "invalid tag '---") != NULL && strstr(err.msg, "followed by letters, digits, '_', '.' or '-'"),
	   "and the cause, whole");
}

static void
test_bounds(void)
{
	char big[2 * CTRK_ERROR_MAX];
	ctrk_error_t err = {0};

	/* A cause that fills the buffer: a short context is kept whole, the
	 * end of the cause goes. */
	memset(big, 'x', CTRK_ERROR_MAX - 1);
	big[CTRK_ERROR_MAX - 1] = '\0';
	ctrk_error_set(&err, 0, "%s", big);
	ctrk_error_wrap(&err, "ctx");
	ok(strncmp(err.msg, "ctx: xxx", 8) == 0 && strlen(err.msg) == CTRK_ERROR_MAX - 1,
	   "short context before a full cause");

	/* Long both: the context keeps 128 characters, "..." included. */
	memset(big, 'c', 600);
	big[600] = '\0';
	ctrk_error_set(&err, 0, "%.*s", 1000, "");
	memset(err.msg, 'y', 1000);
	err.msg[1000] = '\0';
	ctrk_error_wrap(&err, "%s", big);
	ok(strncmp(err.msg + 125, "...: yyy", 8) == 0 && strlen(err.msg) == CTRK_ERROR_MAX - 1,
	   "a long context gives way down to 128 characters");

	/* Cuts fall between characters, not inside one. */
	for (size_t i = 0; i + 2 <= 900; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[900] = '\0';
	ctrk_error_set(&err, 0, "%s", big);
	ctrk_error_wrap(&err, "%s", big);
	ok(valid_utf8(err.msg), "the context is cut between characters");
	/* "ab: " and 1020 bytes of 'é': the end falls inside the last one. */
	for (size_t i = 0; i + 2 <= 1020; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[1020] = '\0';
	ctrk_error_set(&err, 0, "%s", big);
	ctrk_error_wrap(&err, "ab");
	ok(valid_utf8(err.msg) && strlen(err.msg) == CTRK_ERROR_MAX - 2, "and the cause too");
}

int
main(void)
{
	test_short();
	test_long_reference();
	test_quoted_twice();
	test_bounds();
	return done_testing();
}
