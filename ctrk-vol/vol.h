/* ctrk-vol: what its parts share — the options, a volume, and the verbs
 * each part implements.
 *
 * The parts:
 *   main.c     options and the verb table
 *   store.c    the volume store: names, metadata, locks, create, rm, ls,
 *              inspect, exists, path, prune, check
 *   types.c    the volume types (dir, tmpfs, bind, loop) and external
 *              drivers ctrk-vol-NAME: create, remove, mount, unmount
 *   archive.c  export and import (tar)
 *   attach.c   attach and detach: container mounts in the descriptor
 *   populate.c copy-up of the image's content into an empty volume
 *   inuse.c    which containers use a volume (from ctrk-run's state)
 *   hold.c     holds: attaches whose containers have not started yet
 *
 * On disk (all 0700, root's):
 *   $CTRK_ROOT/volumes/NAME/meta.json   the metadata (one small file,
 *                                       written to a temp file, fsynced,
 *                                       renamed, under the volume's lock)
 *   $CTRK_ROOT/volumes/NAME/_data       a dir volume's content
 *   $CTRK_ROOT/volumes/NAME/disk.img    a loop volume's ext4 image
 *   $CTRK_RUN/volumes/NAME              where a loop (or external) volume
 *                                       is mounted while in use
 *   $CTRK_RUN/volumes/.holds/NAME/ID    a hold on it (see hold.c)
 */
#ifndef CTRK_VOL_H
#define CTRK_VOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "error.h"
#include "strlist.h"

#define VOL_NAME_MAX 128

/* Every option of every verb; main.c fills it, the verbs read it. */
typedef struct vol_opts {
	const char *type;     /* create: dir (default), tmpfs, bind, loop, or
	                         NAME for the external driver ctrk-vol-NAME */
	ctrk_strlist_t opts;       /* create: --opt K=V */
	ctrk_strlist_t labels;     /* create: --label K=V */
	long uid, gid;        /* create, attach: -1 when not given */
	long mode;            /* create: -1 when not given */
	bool force;           /* rm */
	bool json;            /* ls, inspect, check */
	ctrk_strlist_t filters;    /* ls: --filter label=K[=V] */
	bool all;             /* prune */
	bool fix;             /* check */
	bool quiet;
	/* attach */
	ctrk_strlist_t tmpfs;      /* --tmpfs /dst[:OPTS] */
	ctrk_strlist_t binds;      /* --bind SRC:/dst[:ro] */
	ctrk_strlist_t anonymous;  /* --anonymous /dst */
	const char *populate; /* --populate never|if-empty (default if-empty) */
} vol_opts_t;

/* One volume of the store. */
typedef struct vol {
	char *name;
	char *dir;    /* $CTRK_ROOT/volumes/NAME */
	cJSON *meta;  /* meta.json: name, type, options, labels, uid, gid,
	                 mode, created, anonymous, populated_from, ... */
} vol_t;

/* ---- The store (store.c) ---- */

/* $CTRK_ROOT/volumes, made private (0700) when MAKE. */
const char *vol_store_dir(bool make, ctrk_error_t *err);

/* Check NAME: [A-Za-z0-9][A-Za-z0-9_.-]*, at most VOL_NAME_MAX bytes. */
int vol_name_check(const char *name, ctrk_error_t *err);

/* Load volume NAME; -1 with errno ENOENT (and ERR) when there is none. */
int vol_load(const char *name, vol_t *v, ctrk_error_t *err);
void vol_free(vol_t *v);

/* Create volume NAME (a generated one when NAME is NULL and ANONYMOUS),
 * as O says; the new volume in *OUT. */
int vol_create(const vol_opts_t *o, const char *name, bool anonymous, vol_t *out, ctrk_error_t *err);

/* Write V's metadata (after a change to v->meta), atomically. */
int vol_meta_save(const vol_t *v, ctrk_error_t *err);

/* NBYTES (at most 32) random bytes as lowercase hex in OUT (2*NBYTES+1). */
void vol_random_hex(char *out, size_t nbytes);

/* Lock volume NAME exclusively (waiting); returns the fd to close.  Every
 * change to a volume (its metadata, its content, its host mount) is made
 * under this lock; it is never taken while another volume's is held, so
 * that there is no order to keep. */
int vol_lock(const char *name, ctrk_error_t *err);

/* Remove volume NAME, under its lock, unless a container uses it or a
 * pipeline not yet started holds it (with FORCE: unless a running
 * container uses it): then -1 with err->errnum EBUSY, saying who; ENOENT
 * when there is no volume NAME. */
int vol_remove(const char *name, bool force, ctrk_error_t *err);

/* ---- Types and drivers (types.c) ---- */

/* The container mount for V without its target: {type, source, options}
 * (a bind of the content's host path; a fresh tmpfs for tmpfs volumes).
 * Mounts a loop or external volume on the host first when it is not.
 * The caller holds vol_lock(V's name): "is it mounted?" and the mount
 * must be one step for other commands. */
int vol_mount(const vol_t *v, cJSON **mount, ctrk_error_t *err);

/* Unmount a loop or external volume from the host (no-op for the rest).
 * The caller holds vol_lock(V's name) and has made sure that no container
 * uses the volume (vol_users(), or the volume is not yet in the store). */
int vol_unmount(const vol_t *v, ctrk_error_t *err);

/* The host path of V's content while mounted (dir: _data; bind: its
 * path; loop: the mount point); NULL for tmpfs.  Caller frees. */
char *vol_content_path(const vol_t *v);

/* ---- Users (inuse.c) ---- */

/* The ids of ctrk-run's containers whose mounts use V (RUNNING_ONLY: only
 * those created or running).  *IDS is a NULL-ended array the caller frees
 * with vol_ids_free(). */
int vol_users(const vol_t *v, bool running_only, char ***ids, ctrk_error_t *err);
/* Free a NULL-ended array of strings (vol_users()'s ids, the store's
 * names). */
void vol_ids_free(char **ids);

/* ---- Holds (hold.c); all under the volume's lock ---- */

/* Is ID a hold id (16 lowercase hex digits)? */
bool vol_hold_id_valid(const char *id);

/* Hold volume NAME for the descriptor whose hold id is ID, as long as
 * attach's parent lives or until vol_hold_drop(); *MADE tells whether the
 * hold is new (not one the descriptor had already). */
int vol_hold_take(const char *name, const char *id, bool *made, ctrk_error_t *err);
void vol_hold_drop(const char *name, const char *id);

/* Does a live hold keep volume NAME?  Stale holds are removed. */
bool vol_held(const char *name);

/* Every hold on NAME goes (the volume is removed). */
void vol_holds_remove(const char *name);

/* ---- The verbs; each returns the exit code ---- */
int cmd_create(const vol_opts_t *o, const char *name);           /* store.c */
int cmd_rm(const vol_opts_t *o, int argc, char **argv);          /* store.c */
int cmd_ls(const vol_opts_t *o);                                 /* store.c */
int cmd_inspect(const vol_opts_t *o, int argc, char **argv);     /* store.c */
int cmd_exists(const vol_opts_t *o, const char *name);           /* store.c */
int cmd_path(const vol_opts_t *o, const char *name);             /* store.c */
int cmd_prune(const vol_opts_t *o);                              /* store.c */
int cmd_check(const vol_opts_t *o);                              /* store.c */
int cmd_export(const vol_opts_t *o, const char *name);           /* archive.c */
int cmd_import(const vol_opts_t *o, const char *name);           /* archive.c */
int cmd_attach(const vol_opts_t *o, int argc, char **argv);      /* attach.c */
int cmd_detach(const vol_opts_t *o);                             /* attach.c */

#endif
