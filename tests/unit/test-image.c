/* Images: one meaning per document, and the layer cap. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "image.h"
#include "registry.h"
#include "tap.h"

#define OCI_M CTRK_MT_OCI_MANIFEST
#define OCI_I CTRK_MT_OCI_INDEX
#define DOCKER_M CTRK_MT_DOCKER_MANIFEST
#define CONFIG                                                                                                 \
	"{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":2,"                              \
	"\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"}"
#define LAYER                                                                                                  \
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"size\":3,"                           \
	"\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"}"

struct kind_case {
	const char *doc;
	const char *given; /* the Content-Type or descriptor's type */
	int want;          /* CTRK_DOC_*, or -1 for an error */
	const char *msg;   /* in the error */
};

static const struct kind_case kind_cases[] = {
	{"{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"config\":" CONFIG ",\"layers\":[]}", OCI_M,
	 CTRK_DOC_MANIFEST, NULL},
	{"{\"schemaVersion\":2,\"config\":" CONFIG ",\"layers\":[]}", NULL, CTRK_DOC_MANIFEST, NULL},
	{"{\"schemaVersion\":2,\"manifests\":[]}", NULL, CTRK_DOC_INDEX, NULL},
	/* A generic Content-Type says nothing. */
	{"{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"config\":" CONFIG ",\"layers\":[]}",
	 "application/json", CTRK_DOC_MANIFEST, NULL},
	/* Both at once, whatever the type says. */
	{"{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"config\":" CONFIG ",\"layers\":[],\"manifests\":[]}",
	 OCI_M, -1, "both an image manifest (it has 'config') and an index"},
	{"{\"schemaVersion\":2,\"mediaType\":\"" OCI_I "\",\"manifests\":[],\"layers\":[]}", OCI_I, -1,
	 "both an image manifest (it has 'layers') and an index"},
	{"{\"schemaVersion\":2,\"manifests\":[],\"config\":" CONFIG "}", NULL, -1, "both"},
	/* The document's type against the server's or the descriptor's. */
	{"{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"config\":" CONFIG ",\"layers\":[]}", OCI_I, -1,
	 "mediaType '" OCI_M "' disagrees with '" OCI_I "'"},
	{"{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"config\":" CONFIG ",\"layers\":[]}", DOCKER_M, -1,
	 "disagrees"},
	/* The type against the shape. */
	{"{\"schemaVersion\":2,\"mediaType\":\"" OCI_I "\",\"config\":" CONFIG ",\"layers\":[]}", NULL, -1,
	 "an index, but it has 'config'"},
	{"{\"schemaVersion\":2,\"manifests\":[]}", OCI_M, -1, "an image manifest, but it has 'manifests'"},
	{"{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"manifests\":[]}", NULL, -1,
	 "an image manifest, but it has 'manifests'"},
	{"[]", NULL, -1, "must be a JSON object"},
};

static void
test_doc_kind(void)
{
	for (size_t i = 0; i < sizeof kind_cases / sizeof *kind_cases; i++) {
		const struct kind_case *c = &kind_cases[i];
		ctrk_doc_kind_t kind = 99;
		ctrk_error_t err = {0};
		char *mt = NULL;
		int rc = ctrk_doc_kind(c->doc, strlen(c->doc), c->given, &kind, &mt, &err);
		if (c->want < 0)
			ok(rc < 0 && strstr(err.msg, c->msg), "case %zu refused (%s)", i, err.msg);
		else
			ok(rc == 0 && (int)kind == c->want, "case %zu is %s (%s)", i,
			   c->want == CTRK_DOC_INDEX ? "an index" : "a manifest", rc < 0 ? err.msg : mt);
		free(mt);
	}
}

/* A manifest of N copies of one layer. */
static char *
manifest_of(int n)
{
	size_t cap = 256 + (size_t)n * (sizeof LAYER + 1);
	char *s = ctrk_xmalloc(cap);
	size_t used = (size_t)snprintf(s, cap, "{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\",\"config\":" CONFIG
					       ",\"layers\":[");
	for (int i = 0; i < n; i++)
		used += (size_t)snprintf(s + used, cap - used, "%s" LAYER, i ? "," : "");
	snprintf(s + used, cap - used, "]}");
	return s;
}

static void
test_layer_cap(void)
{
	ctrk_manifest_t m;
	ctrk_error_t err = {0};
	char *s = manifest_of(CTRK_LAYERS_MAX);
	ok(ctrk_manifest_parse(s, strlen(s), NULL, &m, &err) == 0 && m.nlayers == CTRK_LAYERS_MAX,
	   "%d layers are accepted (%s)", CTRK_LAYERS_MAX, err.msg);
	ctrk_manifest_free(&m);
	free(s);
	s = manifest_of(CTRK_LAYERS_MAX + 1);
	ok(ctrk_manifest_parse(s, strlen(s), NULL, &m, &err) < 0 && strstr(err.msg, "more than the 500"),
	   "%d are refused (%s)", CTRK_LAYERS_MAX + 1, err.msg);
	free(s);
}

int
main(void)
{
	test_doc_kind();
	test_layer_cap();
	return done_testing();
}
