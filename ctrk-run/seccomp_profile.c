/* The built-in seccomp profile: seccomp-default.json (where it comes from:
 * seccomp-default.README) in the binary, byte for byte.
 *
 * .incbin is the assembler's, which the compiler runs anyway: no xxd (not
 * in a minimal Debian) and no generated source.  The path is relative to
 * the top of the tree, where make runs the compiler; the Makefile makes
 * this object depend on the JSON file, which -MMD cannot see. */

__asm__(".pushsection .rodata\n"
	".balign 8\n"
	".globl run_seccomp_default_json\n"
	".hidden run_seccomp_default_json\n"
	"run_seccomp_default_json:\n"
	".incbin \"ctrk-run/seccomp-default.json\"\n"
	".globl run_seccomp_default_json_end\n"
	".hidden run_seccomp_default_json_end\n"
	"run_seccomp_default_json_end:\n"
	".byte 0\n"
	".popsection\n");
