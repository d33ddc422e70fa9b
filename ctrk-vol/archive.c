/* archive.c: export and import, a volume's content as a tar.
 *
 * export writes a POSIX (pax) tar on stdout of everything in the volume,
 * its root "." first: numeric owners (no names: a volume's users are the
 * container's, not the host's), modes, times to the nanosecond, xattrs
 * (SCHILY.xattr, as GNU tar writes them), ACLs, hard links as links.  It
 * stays on the volume's file system (a mount inside a bind volume is not
 * the volume's).
 *
 * import NAME makes a new volume NAME (dir by default, or loop, with
 * create's options) from a tar on stdin.  The tar is unpacked while the
 * volume is still being created (.tmp-NAME, see store.c), so a killed
 * import leaves no volume that looks complete, and an existing volume is
 * never changed.  Absolute paths, "..", hard links that lead out, and
 * writing through a symlink are refused (libarchive's SECURE_* checks and
 * ctrk_path_clean() before them); device nodes are refused: a volume is
 * mounted into containers without nodev. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "extract.h"
#include "fsutil.h"
#include "process.h"
#include "types.h"
#include "vol.h"

#define BUF_SIZE (256u << 10)

static int
archive_err(struct archive *a, const char *what, ctrk_error_t *err)
{
	int e = archive_errno(a);
	return ctrk_error_set(err, e > 0 ? e : 0, "%s: %s", what,
			      archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

/* ---- export ---- */

static int
write_entry(struct archive *disk, struct archive *w, struct archive_entry *e, bool with_data, char *buf,
	    ctrk_error_t *err)
{
	int r = archive_write_header(w, e);
	if (r == ARCHIVE_FAILED) {
		/* A socket: tar has no way to keep one. */
		ctrk_warn("skipping '%s': %s", archive_entry_pathname(e), archive_error_string(w));
		return 0;
	}
	if (r < ARCHIVE_WARN)
		return archive_err(w, "cannot write the tar", err);
	if (!with_data || archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) <= 0)
		return 0;
	for (;;) {
		la_ssize_t n = archive_read_data(disk, buf, BUF_SIZE);
		if (n < 0)
			return archive_err(disk, archive_entry_pathname(e), err);
		if (n == 0)
			return 0;
		if (archive_write_data(w, buf, (size_t)n) != n)
			return archive_err(w, "cannot write the tar", err);
	}
}

static int
export_tree(const char *path, int fd, ctrk_error_t *err)
{
	if (chdir(path) < 0)
		return ctrk_error_errno(err, "cannot enter '%s'", path);
	struct archive *disk = archive_read_disk_new();
	struct archive *w = archive_write_new();
	struct archive_entry_linkresolver *links = archive_entry_linkresolver_new();
	cleanup_free char *buf = ctrk_xmalloc(BUF_SIZE);
	int rc = -1;
	archive_read_disk_set_symlink_physical(disk);
	archive_entry_linkresolver_set_strategy(links, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
	if (archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS) != ARCHIVE_OK ||
	    archive_read_disk_open(disk, ".") != ARCHIVE_OK) {
		archive_err(disk, "cannot read the volume", err);
		goto out;
	}
	if (archive_write_set_format_pax(w) != ARCHIVE_OK ||
	    archive_write_set_format_option(w, "pax", "xattrheader", "SCHILY") < ARCHIVE_WARN ||
	    archive_write_set_bytes_in_last_block(w, 1) != ARCHIVE_OK || archive_write_open_fd(w, fd) != ARCHIVE_OK) {
		archive_err(w, "cannot start the tar", err);
		goto out;
	}
	for (;;) {
		struct archive_entry *e = archive_entry_new(), *spare = NULL;
		int r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		if (r < ARCHIVE_WARN) {
			archive_err(disk, "cannot read the volume", err);
			archive_entry_free(e);
			goto out;
		}
		if (r == ARCHIVE_WARN)
			ctrk_warn("%s: %s", archive_entry_pathname(e), archive_error_string(disk));
		archive_read_disk_descend(disk);
		/* Numeric owners only: no user or group names. */
		archive_entry_set_uname(e, NULL);
		archive_entry_set_gname(e, NULL);
		if (strcmp(archive_entry_pathname(e), ".") == 0)
			archive_entry_set_pathname(e, "./");
		struct archive_entry *orig = e;
		archive_entry_linkify(links, &e, &spare);
		/* Data only from the file being read (the pax strategy never
		 * defers an entry: E is ORIG, or NULL). */
		if (e && write_entry(disk, w, e, e == orig, buf, err) < 0) {
			archive_entry_free(orig);
			goto out;
		}
		if (spare && write_entry(disk, w, spare, false, buf, err) < 0) {
			archive_entry_free(orig);
			goto out;
		}
		archive_entry_free(orig);
	}
	if (archive_write_close(w) != ARCHIVE_OK) {
		archive_err(w, "cannot finish the tar", err);
		goto out;
	}
	rc = 0;
out:
	archive_entry_linkresolver_free(links);
	archive_read_free(disk);
	archive_write_free(w);
	return rc;
}

int
cmd_export(const vol_opts_t *o, const char *name)
{
	ctrk_error_t err;
	if (isatty(1)) {
		ctrk_report_msg("cannot export volume '%s': standard output is a terminal (redirect it)", name);
		return CTRK_EXIT_FAILURE;
	}
	cleanup_close int lock = vol_lock(name, &err);
	if (lock < 0)
		return ctrk_fail(&err);
	vol_t v;
	if (vol_load(name, &v, &err) < 0)
		return ctrk_fail(&err);
	const char *type = vol_type(&v);
	int rc = CTRK_EXIT_FAILURE;
	bool mounted_here = false;
	cleanup_free char *path = NULL;
	if (strcmp(type, "tmpfs") == 0) {
		ctrk_error_set(&err, 0, "volume '%s' is a tmpfs: it has no content of its own to export", name);
		goto out;
	}
	if (strcmp(type, "dir") != 0 && strcmp(type, "bind") != 0 && !types_mounted(&v)) {
		/* Mounted for the export only (we hold the lock: no attach
		 * can start using it meanwhile). */
		cJSON *m;
		if (vol_mount(&v, &m, &err) < 0)
			goto out;
		cJSON_Delete(m);
		mounted_here = true;
	}
	path = vol_content_path(&v);
	if (!path) {
		ctrk_error_set(&err, 0, "volume '%s': no path to its content", name);
		goto out;
	}
	if (export_tree(path, 1, &err) < 0) {
		ctrk_error_wrap(&err, "cannot export volume '%s'", name);
		goto out;
	}
	rc = CTRK_EXIT_OK;
out:
	if (mounted_here) {
		ctrk_error_t uerr;
		if (chdir("/") < 0 || vol_unmount(&v, &uerr) < 0)
			ctrk_warn("volume '%s' stays mounted: %s", name, uerr.msg);
	}
	vol_free(&v);
	if (rc != CTRK_EXIT_OK)
		return ctrk_fail(&err);
	return rc;
}

/* ---- import ---- */

/* Clean the name of entry E's path (or hard link target, LINK) as
 * ctrk_path_clean() does: absolute paths and ".." refused. */
static int
clean_entry_path(struct archive_entry *e, bool link, ctrk_error_t *err)
{
	const char *p = link ? archive_entry_hardlink(e) : archive_entry_pathname(e);
	if (!p)
		return 0;
	cleanup_free char *clean = NULL;
	if (ctrk_path_clean(p, false, &clean, err) < 0)
		return ctrk_error_wrap(err, "refusing %s'%s'", link ? "a hard link to " : "", p);
	if (link && !*clean)
		return ctrk_error_set(err, 0, "refusing a hard link to the volume's root");
	if (link)
		archive_entry_set_hardlink(e, clean);
	else
		archive_entry_set_pathname(e, *clean ? clean : ".");
	return 0;
}

/* Unpack the tar on FD into the current directory. */
static int
import_tree(int fd, ctrk_error_t *err)
{
	struct archive *a = archive_read_new();
	struct archive *w = archive_write_disk_new();
	int rc = -1;
	/* The root's times, set last: libarchive sets them when it meets
	 * "./", and every entry after changes its mtime again. */
	struct timespec root_times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	/* A tar as export writes it, or compressed as a layer may be (the
	 * filters ctrk links statically; "all" would bring lz4, lzop, ...). */
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
						  ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS |
						  ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						  ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	if (archive_read_open_fd(a, fd, BUF_SIZE) != ARCHIVE_OK) {
		archive_err(a, "cannot read the tar", err);
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			archive_err(a, "cannot read the tar", err);
			goto out;
		}
		const char *name = archive_entry_pathname(e);
		if (!name) {
			ctrk_error_set(err, 0, "an entry of the tar has no name");
			goto out;
		}
		unsigned type = archive_entry_filetype(e);
		if (type == AE_IFCHR || type == AE_IFBLK) {
			ctrk_error_set(err, 0, "refusing the device node '%s': volumes hold no devices", name);
			goto out;
		}
		if (clean_entry_path(e, false, err) < 0 || clean_entry_path(e, true, err) < 0)
			goto out;
		if (strcmp(archive_entry_pathname(e), ".") == 0) {
			if (archive_entry_atime_is_set(e))
				root_times[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
			if (archive_entry_mtime_is_set(e))
				root_times[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
		}
		r = archive_write_header(w, e);
		if (r < ARCHIVE_WARN) {
			archive_err(w, archive_entry_pathname(e), err);
			goto out;
		}
		if (r == ARCHIVE_WARN)
			ctrk_warn("%s: %s", archive_entry_pathname(e), archive_error_string(w));
		const void *buf;
		size_t len;
		la_int64_t off;
		while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
			/* ARCHIVE_WARN here is a failed or short write
			 * (ENOSPC): data lost, never a mere warning. */
			if (archive_write_data_block(w, buf, len, off) != ARCHIVE_OK) {
				archive_err(w, archive_entry_pathname(e), err);
				goto out;
			}
		}
		if (r != ARCHIVE_EOF) {
			archive_err(a, "cannot read the tar", err);
			goto out;
		}
		if (archive_write_finish_entry(w) < ARCHIVE_WARN) {
			archive_err(w, archive_entry_pathname(e), err);
			goto out;
		}
	}
	/* Directories' modes and times are set last, here. */
	if (archive_write_close(w) < ARCHIVE_WARN) {
		archive_err(w, "cannot finish unpacking", err);
		goto out;
	}
	if (utimensat(AT_FDCWD, ".", root_times, 0) < 0) {
		ctrk_error_errno(err, "cannot set the times of the volume's root");
		goto out;
	}
	rc = 0;
out:
	archive_read_free(a);
	archive_write_free(w);
	return rc;
}

/* In the child: unpack stdin into the new volume V's content; a loop
 * volume's image is mounted in a mount namespace of the child's own,
 * which no one else sees and which goes with it. */
static int
import_child(const vol_t *v, ctrk_error_t *err)
{
	cleanup_free char *content = NULL;
	if (strcmp(vol_type(v), "loop") == 0) {
		content = ctrk_strdup_printf("%s/mnt", v->dir);
		cleanup_free char *image = ctrk_strdup_printf("%s/" VOL_IMAGE, v->dir);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			return ctrk_error_errno(err, "cannot make a private mount namespace");
		if (types_loop_mount(image, content, err) < 0)
			return -1;
	} else
		content = ctrk_strdup_printf("%s/" VOL_DATA, v->dir);
	if (chdir(content) < 0)
		return ctrk_error_errno(err, "cannot enter '%s'", content);
	if (import_tree(0, err) < 0)
		return -1;
	if (strcmp(vol_type(v), "loop") == 0) {
		/* Unmounted here, not with the namespace: that happens after
		 * the parent goes on, and the parent syncs what it finds. */
		if (chdir("/") < 0 || umount2(content, 0) < 0)
			return ctrk_error_errno(err, "cannot unmount '%s'", content);
	}
	return 0;
}

static int
import_fill(const vol_t *v, void *arg, ctrk_error_t *err)
{
	bool loop = strcmp(vol_type(v), "loop") == 0;
	cleanup_free char *mnt = ctrk_strdup_printf("%s/mnt", v->dir);
	if (loop && mkdir(mnt, 0700) < 0)
		return ctrk_error_errno(err, "cannot make '%s'", mnt);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return ctrk_error_errno(err, "cannot make a pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return ctrk_error_errno(err, "cannot fork");
	}
	if (pid == 0) {
		close(p[0]);
		free(steal_pointer(&mnt)); /* _exit() runs no cleanup */
		ctrk_error_t cerr = {0};
		if (import_child(v, &cerr) < 0) {
			if (write(p[1], &cerr, sizeof cerr) < 0)
				_exit(2);
			_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	ctrk_error_t cerr;
	ssize_t n;
	while ((n = read(p[0], &cerr, sizeof cerr)) < 0 && errno == EINTR)
		;
	close(p[0]);
	int status;
	if (ctrk_wait(pid, &status, err) < 0)
		return -1;
	if (loop && rmdir(mnt) < 0)
		return ctrk_error_errno(err, "cannot remove '%s'", mnt);
	if (n == (ssize_t)sizeof cerr) {
		cerr.msg[sizeof cerr.msg - 1] = '\0';
		*err = cerr;
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return ctrk_error_set(err, 0, "the import process failed (status %d)", ctrk_exit_code(status));
	return 0;
}

int
cmd_import(const vol_opts_t *o, const char *name)
{
	ctrk_error_t err;
	const char *type = o->type ? o->type : "dir";
	if (strcmp(type, "dir") != 0 && strcmp(type, "loop") != 0) {
		ctrk_report_msg("cannot import volume '%s': import makes a dir or loop volume, not %s", name, type);
		return CTRK_EXIT_USAGE;
	}
	if (isatty(0)) {
		ctrk_report_msg("cannot import volume '%s': standard input is a terminal (redirect it)", name);
		return CTRK_EXIT_FAILURE;
	}
	vol_t v;
	if (vol_create_with(o, name, false, import_fill, NULL, &v, &err) < 0)
		return ctrk_fail(&err);
	printf("%s\n", v.name);
	vol_free(&v);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctrk_error_errno(&err, "cannot write to standard output");
		return ctrk_fail(&err);
	}
	return CTRK_EXIT_OK;
}
