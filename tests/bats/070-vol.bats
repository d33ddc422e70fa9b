#!/usr/bin/env bats
# ctrk-vol: the volume store — create, ls, inspect, exists, path, rm for
# each type, labels and filters, prune, export | import, external drivers,
# bad names and options, and rm of a volume a real container uses.

load helpers

setup() {
	vol_setup
}

teardown() {
	vol_teardown
}

# listing DIR: every entry under DIR (lost+found aside) with its mode,
# owner, size (files), mtime in ns, link count (non-directories), symlink
# target and xattrs — what export | import must keep.
listing() {
	"$PYTHON" - "$1" <<'EOF'
import os, sys, stat
top = sys.argv[1]
for dirpath, dirs, files in sorted(os.walk(top)):
    dirs.sort()
    names = sorted(dirs + files)
    if dirpath == top:
        names = [''] + names
    for name in names:
        p = os.path.join(dirpath, name) if name else dirpath
        rel = os.path.relpath(p, top)
        if rel == 'lost+found' or rel.startswith('lost+found/'):
            continue
        st = os.lstat(p)
        size = st.st_size if stat.S_ISREG(st.st_mode) else '-'
        link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else ''
        nlink = 0 if stat.S_ISDIR(st.st_mode) else st.st_nlink
        xa = '' if stat.S_ISLNK(st.st_mode) else ','.join(
            '%s=%s' % (k, os.getxattr(p, k).hex()) for k in sorted(os.listxattr(p)))
        print(rel, oct(st.st_mode), '%d:%d' % (st.st_uid, st.st_gid), size, st.st_mtime_ns, nlink, link, xa)
EOF
}

# fill DIR: files of every kind, owners, modes, xattrs, a hard link, old
# times to the nanosecond.
fill() {
	local d=$1
	mkdir -p "$d/sub/deep" "$d/empty"
	printf 'hello\n' >"$d/a"
	chown 1000:1000 "$d/a"
	chmod 0640 "$d/a"
	ln "$d/a" "$d/sub/hard"
	"$PYTHON" -c "import os; os.setxattr('$d/a', 'user.note', b'kept'); os.setxattr('$d/sub', 'user.dir', b'1')"
	ln -s /etc/passwd "$d/sub/abs-link"
	ln -s ../a "$d/sub/rel-link"
	mkfifo "$d/fifo"
	head -c 300000 /dev/urandom >"$d/sub/deep/random"
	chown 2000:3000 "$d/sub/deep"
	chmod 2750 "$d/sub/deep"
	touch -d '2020-01-01 12:00:00.123456789' "$d/sub/deep/random"
	touch -h -d '2019-06-01 00:00:01.5' "$d/sub/abs-link"
	touch -d '2018-01-01 00:00:00.25' "$d/sub/deep" "$d/empty" "$d"
}

# tar_of_size N: a tar holding one file of N random bytes (nothing a file
# system could leave as holes).
tar_of_size() {
	"$PYTHON" -c "
import io, os, sys, tarfile
t = tarfile.open(fileobj=sys.stdout.buffer, mode='w|')
ti = tarfile.TarInfo('big'); ti.size = $1
t.addfile(ti, io.BytesIO(os.urandom($1)))
t.close()"
}

@test "dir: create, ls, inspect, exists, path, rm" {
	run ctrk-vol create data
	assert_success
	assert_output data
	run ctrk-vol exists data
	assert_success
	assert_output ""
	run ctrk-vol exists other
	assert_failure 1
	assert_output ""
	run ctrk-vol path data
	assert_output "$S/data/_data"
	[[ -d $S/data/_data ]]
	assert_equal "$(stat -c '%a %u:%g' "$S/data/_data")" "755 0:0"
	assert_equal "$(stat -c '%a' "$S" "$S/data" "$S/data/meta.json")" "$(printf '700\n700\n600')"
	run ctrk-vol ls
	assert_success
	assert_line --regexp '^dir +data$'
	run ctrk-vol inspect data
	assert_success
	assert_equal "$(jq -r '.[0] | [.name, .type, .anonymous, .mountpoint, (.labels | length)] | @tsv' <<<"$output")" \
		"$(printf 'data\tdir\tfalse\t%s\t0' "$S/data/_data")"
	jq -e '.[0].created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")' <<<"$output"
	# meta.json is the metadata, as inspect shows it.
	jq -e '.version == 1 and .name == "data" and .type == "dir"' "$S/data/meta.json"
	echo content >"$S/data/_data/f"
	run ctrk-vol create data
	assert_failure 1
	assert_output "ctrk-vol: error: volume 'data' already exists"
	assert_equal "$(cat "$S/data/_data/f")" content
	run ctrk-vol rm data
	assert_success
	[[ ! -e $S/data ]]
	run ctrk-vol exists data
	assert_failure 1
	run ctrk-vol rm data
	assert_failure 1
	assert_output --partial "no such volume 'data'"
	# Nothing but the store's lock is left.
	assert_equal "$(ls -A "$S")" .lock
}

@test "dir: --uid, --gid and --mode give the root of the volume" {
	ctrk-vol create --uid 1000 --gid 1001 --mode 2770 owned
	assert_equal "$(stat -c '%a %u:%g' "$S/owned/_data")" "2770 1000:1001"
	run ctrk-vol inspect owned
	assert_equal "$(jq -c '.[0] | [.uid, .gid, .mode]' <<<"$output")" "[1000,1001,1528]"
	run ctrk-vol create --mode 99 bad
	assert_failure 2
	run ctrk-vol create --uid -1 bad
	assert_failure 2
	run ctrk-vol exists bad
	assert_failure 1
}

@test "tmpfs: options checked by a trial mount at create; no host path" {
	run ctrk-vol create --type tmpfs -o size=8m -o nr_inodes=1k -o mode=1777 scratch
	assert_success
	run ctrk-vol inspect scratch
	assert_equal "$(jq -c '.[0] | [.type, .options, .mountpoint]' <<<"$output")" \
		'["tmpfs",{"size":"8m","nr_inodes":"1k","mode":"1777"},null]'
	run ctrk-vol path scratch
	assert_failure 1
	assert_output --partial "is a tmpfs"
	# Checked at create, never first at container start.
	run ctrk-vol create --type tmpfs -o size=8q t1
	assert_failure 1
	assert_output --partial "invalid size '8q'"
	run ctrk-vol create --type tmpfs -o size=0 t2
	assert_failure 1
	run ctrk-vol create --type tmpfs -o mode=999 t3
	assert_failure 1
	assert_output --partial "invalid mode '999'"
	run ctrk-vol create --type tmpfs -o mode=700 --mode 700 t4
	assert_failure 1
	assert_output --partial "given twice"
	run ctrk-vol create --type tmpfs -o huge=always t5
	assert_failure 1
	assert_output --partial "unknown option 'huge' for a tmpfs volume (size, nr_inodes, mode)"
	# A value only the kernel refuses: the trial mount catches it.
	run ctrk-vol create --type tmpfs -o nr_inodes=99999999999999999999k t6
	assert_failure 1
	run ctrk-vol ls -q
	assert_output scratch
	# The trial mount is gone with its process: nothing is mounted.
	run findmnt -rn -t tmpfs -o TARGET
	refute_output --partial "$T"
	ctrk-vol rm scratch
}

@test "bind: an existing absolute directory outside ctrk's state; rm leaves it" {
	mkdir -p "$T/host/dir"
	echo keep >"$T/host/dir/file"
	ln -s "$T/host/dir" "$T/link"
	run ctrk-vol create --type bind -o path="$T/link/../dir" hostdir
	assert_success
	run ctrk-vol path hostdir
	assert_output "$T/host/dir"
	run ctrk-vol inspect hostdir
	assert_equal "$(jq -r '.[0].options.path' <<<"$output")" "$T/host/dir"
	run ctrk-vol rm hostdir
	assert_success
	assert_equal "$(cat "$T/host/dir/file")" keep

	run ctrk-vol create --type bind b1
	assert_failure 1
	assert_output --partial "needs --opt path="
	run ctrk-vol create --type bind -o path=relative/dir b2
	assert_output --partial "it must be absolute"
	run ctrk-vol create --type bind -o path="$T/missing" b3
	assert_output --partial "No such file or directory"
	run ctrk-vol create --type bind -o path="$T/host/dir/file" b4
	assert_output --partial "Not a directory"
	mkdir -p "$CTRK_ROOT/inside" "$CTRK_RUN"
	run ctrk-vol create --type bind -o path="$CTRK_ROOT/inside" b5
	assert_output --partial "it is inside ctrk's own state"
	run ctrk-vol create --type bind -o path="$CTRK_RUN" b6
	assert_output --partial "it is inside ctrk's own state"
	run ctrk-vol create --type bind -o path="$T" b7
	assert_output --partial "it holds ctrk's own state"
	run ctrk-vol create --type bind -o path="$T/host" --uid 5 b8
	assert_output --partial "do not apply to a bind volume"
	run ctrk-vol create --type bind -o path="$T/host" -o ro=1 b9
	assert_output --partial "unknown option 'ro' for a bind volume (path)"
	run ctrk-vol ls -q
	assert_output ""
}

@test "loop: an ext4 image of size= made by mkfs.ext4; import beyond the size gives ENOSPC" {
	run ctrk-vol create --type loop -o size=16m --uid 1000 --gid 1000 --mode 0750 disk
	assert_success
	[[ -f $S/disk/disk.img ]]
	run dumpe2fs -h "$S/disk/disk.img"
	assert_output --regexp 'Filesystem features:.*has_journal'
	run debugfs -R 'stat /' "$S/disk/disk.img"
	assert_output --regexp 'Mode: +0750'
	assert_output --regexp 'User: +1000 +Group: +1000'
	# Mounted only while in use: path says so instead of mounting.
	run ctrk-vol path disk
	assert_failure 1
	assert_output --partial "is not mounted"
	run ctrk-vol inspect disk
	assert_equal "$(jq -c '.[0] | [.type, .options.size, .mounted, .mountpoint]' <<<"$output")" \
		'["loop","16m",false,null]'
	ctrk-vol rm disk

	# size= is what the volume holds, within 1 MiB: 15 MiB fit, 17 MiB
	# do not, and the failed import leaves nothing.
	tar_of_size $((15 * 1024 * 1024)) | ctrk-vol import --type loop -o size=16m fits
	tar_of_size $((17 * 1024 * 1024)) >"$T/big.tar"
	run ctrk-vol import --type loop -o size=16m toobig <"$T/big.tar"
	assert_failure 1
	assert_output --partial "No space left on device"
	run ctrk-vol ls -q
	assert_output fits
	assert_equal "$(ls -A "$S")" "$(printf '.lock\nfits')"
	run losetup -j "$S/fits/disk.img"
	assert_output ""

	run ctrk-vol create --type loop loop1
	assert_output --partial "a loop volume needs --opt size=N"
	run ctrk-vol create --type loop -o size=100k loop2
	assert_output --partial "a loop volume takes 1m to 16t"
	run ctrk-vol create --type loop -o size=1m -o fs=xfs loop3
	assert_output --partial "unknown option 'fs' for a loop volume (size)"
	run ctrk-vol exists loop1
	assert_failure 1
}

@test "labels: --label K=V, ls --filter label=K and label=K=V, -q, --json" {
	ctrk-vol create --label app=web --label tier=front v1
	ctrk-vol create --label app=db v2
	ctrk-vol create --label flag v3
	ctrk-vol create v4
	run ctrk-vol ls -q --filter label=app
	assert_output "$(printf 'v1\nv2')"
	run ctrk-vol ls -q --filter label=app=db
	assert_output v2
	run ctrk-vol ls -q --filter label=app=web --filter label=tier=front
	assert_output v1
	run ctrk-vol ls -q --filter label=app=web --filter label=tier=back
	assert_output ""
	run ctrk-vol ls -q --filter label=flag=
	assert_output v3
	run ctrk-vol ls --json --filter label=app
	assert_equal "$(jq -c 'map([.name, .labels])' <<<"$output")" \
		'[["v1",{"app":"web","tier":"front"}],["v2",{"app":"db"}]]'
	run ctrk-vol ls -q --filter name=v1
	assert_failure 2
	assert_output --partial "invalid --filter 'name=v1'"
	run ctrk-vol create --label =x v5
	assert_failure 1
	assert_output --partial "invalid --label '=x'"
	run ctrk-vol create --label a=1 --label a=2 v5
	assert_output --partial "--label 'a' is given twice"
	run ctrk-vol create --label "$(printf 'k=\xff')" v5
	assert_failure 1
	run ctrk-vol exists v5
	assert_failure 1
}

@test "prune: anonymous unlabelled volumes by default; --all every unused unlabelled one" {
	ctrk-vol create keep-named
	ctrk-vol create --label keep=1 keep-labelled
	# An anonymous volume, as attach --anonymous makes one.
	printf '{}' | ctrk-vol attach --anonymous /scratch >"$T/d.json"
	anon=$(jq -r '[.volumes // {} | .. | strings | select(test("^[0-9a-f]{64}$"))][0] // empty' "$T/d.json")
	[[ -z $anon ]] && anon=$(ctrk-vol ls -q | grep -E '^[0-9a-f]{64}$')
	[[ -n $anon ]]
	head -c 100000 /dev/urandom >"$S/$anon/_data/blob"
	run ctrk-vol prune
	assert_success
	assert_line "$anon"
	assert_line --regexp '^Total reclaimed space: (9[0-9]|1[0-9][0-9])\.[0-9] KiB$'
	run ctrk-vol ls -q
	assert_output "$(printf 'keep-labelled\nkeep-named')"
	run ctrk-vol prune --all
	assert_output "$(printf 'keep-named\nTotal reclaimed space: 4.0 KiB')"
	run ctrk-vol ls -q
	assert_output keep-labelled
}

@test "export | import: an identical listing (modes, owners, sizes, times, xattrs, hard links)" {
	ctrk-vol create src
	fill "$S/src/_data"
	listing "$S/src/_data" >"$T/src.list"
	ctrk-vol export src >"$T/src.tar"
	# A pax tar with numeric owners and the xattrs.
	run tar --xattrs -tvf "$T/src.tar" --numeric-owner
	assert_line --regexp '^-rw-r-----\*? 1000/1000 +6 .* \./a$'
	assert_line --regexp '^hrw-r-----\*? 1000/1000 .* \./sub/hard link to \./a$'
	ctrk-vol export src | ctrk-vol import copy
	listing "$S/copy/_data" >"$T/copy.list"
	diff -u "$T/src.list" "$T/copy.list"
	assert_equal "$(stat -c %i "$S/copy/_data/a")" "$(stat -c %i "$S/copy/_data/sub/hard")"
	# Through a loop volume and back.
	ctrk-vol export copy | ctrk-vol import --type loop -o size=8m onloop
	ctrk-vol export onloop | ctrk-vol import back
	listing "$S/back/_data" >"$T/back.list"
	diff -u "$T/src.list" "$T/back.list"
	# export mounted the loop volume for itself and let it go.
	run findmnt -rn -o TARGET
	refute_output --partial "$CTRK_RUN/volumes"
	# import makes a new volume: an existing one is never changed.
	run bash -c "ctrk-vol export src | ctrk-vol import copy"
	assert_failure 1
	assert_output --partial "volume 'copy' already exists"
	run ctrk-vol import --type tmpfs t </dev/null
	assert_failure 2
	run ctrk-vol export nosuch
	assert_failure 1
	assert_output --partial "no such volume 'nosuch'"
}

@test "import refuses absolute paths, '..', links leading out and devices; nothing is created" {
	local kind
	for kind in dotdot abs hardlink symlink device; do
		"$PYTHON" - "$kind" >"$T/$kind.tar" <<'EOF'
import io, sys, tarfile
kind = sys.argv[1]
t = tarfile.open(fileobj=sys.stdout.buffer, mode='w|', format=tarfile.PAX_FORMAT)
def add(name, **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type == tarfile.REGTYPE:
        ti.size = 2
        t.addfile(ti, io.BytesIO(b'x\n'))
    else:
        t.addfile(ti)
add('ok')
if kind == 'dotdot': add('../../escape-dotdot')
if kind == 'abs': add('/tmp/escape-abs-ctrk')
if kind == 'hardlink': add('h', type=tarfile.LNKTYPE, linkname='../../../../etc/passwd')
if kind == 'symlink':
    add('l', type=tarfile.SYMTYPE, linkname='/tmp')
    add('l/escape-symlink-ctrk')
if kind == 'device': add('null', type=tarfile.CHRTYPE, devmajor=1, devminor=3)
t.close()
EOF
		run ctrk-vol import "in-$kind" <"$T/$kind.tar"
		assert_failure 1
		run ctrk-vol exists "in-$kind"
		assert_failure 1
	done
	[[ ! -e $CTRK_ROOT/escape-dotdot && ! -e /tmp/escape-abs-ctrk && ! -e /tmp/escape-symlink-ctrk ]]
	run ctrk-vol import in-dotdot <"$T/dotdot.tar"
	assert_output --partial "'../../escape-dotdot' leads out of the archive"
	run ctrk-vol import in-device <"$T/device.tar"
	assert_output --partial "refusing the device node 'null'"
	assert_equal "$(ls -A "$S")" .lock
	run ctrk-vol import notatar </etc/passwd
	assert_failure 1
	assert_equal "$(ls -A "$S")" .lock
}

@test "external driver: ctrk-vol-NAME on PATH, one JSON request in, one answer out" {
	vol_make_driver
	run ctrk-vol create --type shdrv -o color=blue --uid 7 --label x=y ext
	assert_success
	[[ -d $T/shdrv/ext ]]
	assert_equal "$(head -1 "$T/shdrv/log")" '{"op":"create","name":"ext","options":{"color":"blue"},"uid":7}'
	run ctrk-vol inspect ext
	assert_equal "$(jq -c '.[0] | [.type, .options, .mounted, .mountpoint]' <<<"$output")" \
		'["shdrv",{"color":"blue"},false,null]'
	run ctrk-vol path ext
	assert_failure 1
	assert_output --partial "is not mounted"
	# export mounts it through the driver, asks for the path, unmounts.
	echo hi >"$T/shdrv/ext/f"
	run bash -c "ctrk-vol export ext | tar -tf -"
	assert_output "$(printf './\n./f')"
	run jq -r .op "$T/shdrv/log"
	assert_output "$(printf 'create\nmount\npath\nunmount')"
	run ctrk-vol rm ext
	assert_success
	[[ ! -e $T/shdrv/ext ]]
	assert_equal "$(tail -1 "$T/shdrv/log" | jq -c .)" '{"op":"remove","name":"ext","options":{"color":"blue"}}'

	# Failures: the driver's message; nothing is left.
	run ctrk-vol create --type shdrv -o fail=1 e1
	assert_failure 1
	assert_output "ctrk-vol: error: cannot create volume 'e1': driver 'shdrv': create 'e1': asked to fail"
	run env CTRK_VOL_DRIVER_TIMEOUT=1 ctrk-vol create --type shdrv -o hang=1 e2
	assert_failure 1
	assert_output "ctrk-vol: error: cannot create volume 'e2': driver 'shdrv': create 'e2': '$T/bin/ctrk-vol-shdrv' timed out after 1 s (CTRK_VOL_DRIVER_TIMEOUT)"
	run pgrep -f "sleep 300"
	assert_failure
	run ctrk-vol create --type shdrv -o flood=1 e3
	assert_failure 1
	assert_output "ctrk-vol: error: cannot create volume 'e3': driver 'shdrv': create 'e3': '$T/bin/ctrk-vol-shdrv' answered more than 64 KiB"
	run ctrk-vol create --type nosuchdrv e4
	assert_output --partial "unknown volume type 'nosuchdrv': not dir, tmpfs, bind or loop, and no 'ctrk-vol-nosuchdrv' on PATH"
	run ctrk-vol create --type ../shdrv e5
	assert_output --partial "invalid volume type '../shdrv'"
	run ctrk-vol ls -q
	assert_output ""
}

@test "bad names and options: a clear error, nothing created" {
	local name
	for name in "" -x .hidden _x "a/b" ".." "a b" "$(printf 'a\nb')" "é" "$(printf 'x%.0s' {1..129})"; do
		run ctrk-vol create -- "$name"
		assert_failure
		assert_output --partial "invalid volume name"
	done
	run ctrk-vol create "$(printf 'x%.0s' {1..128})"
	assert_success
	ctrk-vol rm "$(printf 'x%.0s' {1..128})"
	run ctrk-vol create -o size=1m plain
	assert_failure 1
	assert_output --partial "unknown option 'size' for a dir volume (it takes none)"
	run ctrk-vol create -o novalue plain
	assert_output --partial "invalid --opt 'novalue': expected KEY=VALUE"
	run ctrk-vol rm ../volumes
	assert_failure 1
	assert_output --partial "invalid volume name"
	run ctrk-vol exists ../x
	assert_failure 2
	run ctrk-vol inspect a/b
	assert_failure 1
	assert_equal "$(ls -A "$S")" .lock
}

@test "rm of a volume a container uses fails and names the container" {
	C=$(cid c)
	container_rootfs "$C"
	ctrk-vol create used
	ctrk-vol attach used:/data <"$T/$C.json" >"$T/d.json"
	ctrk-run run --rm "$C" -- sh -c 'echo from-container >/data/f; sleep 300' <"$T/d.json" &
	track_pid $!
	wait_running "$C"
	for i in $(seq 50); do [[ -f $S/used/_data/f ]] && break; sleep 0.1; done
	assert_equal "$(cat "$S/used/_data/f")" from-container
	run ctrk-vol rm used
	assert_failure 1
	assert_output --partial "volume 'used' is in use by container '$C'"
	# --force never takes a volume from a running container.
	run ctrk-vol rm --force used
	assert_failure 1
	assert_output --partial "'$C', running"
	run ctrk-vol prune --all
	assert_success
	refute_line used
	ctrk-run kill "$C" KILL
	for i in $(seq 50); do ctrk-run list -q | grep -qx "$C" || break; sleep 0.1; done
	run ctrk-vol rm used
	assert_success
}

@test "ENOSPC within 1 MiB of the limit: loop size=16m and tmpfs size=8m, written with dd in a container" {
	export CTRK_RUNTIME=runc
	local type size limit C out written
	ctrk-pull -q "oci:$CTRK_FIXTURES:single" >/dev/null
	for type in loop tmpfs; do
		[[ $type == loop ]] && size=16m limit=$((16 << 20)) || size=8m limit=$((8 << 20))
		C=$(cid "$type")
		ctrk-vol create --type "$type" -o size=$size "lim-$type" >/dev/null
		set -o pipefail
		ctrk-snap prepare --image "oci:$CTRK_FIXTURES:single" "$C" </dev/null |
			ctrk-vol attach "lim-$type:/data" | ctrk-mount >"$T/$C.json"
		# bs=4k: the last block that fits is written, the next fails.
		run --separate-stderr ctrk-run run --rm "$C" -- \
			sh -c 'dd if=/dev/urandom of=/data/fill bs=4k 2>&1; echo "status $?"; sync; stat -c %s /data/fill' <"$T/$C.json"
		echo "# $type: $output" >&3
		assert_success
		assert_line --partial "No space left on device"
		assert_line "status 1"
		written=${lines[-1]}
		((written <= limit && written > limit - (1 << 20)))
		if [[ $type == loop ]]; then
			# The host sees the same bytes through the volume's path.
			assert_equal "$(stat -c %s "$(ctrk-vol path lim-loop)/fill")" "$written"
		fi
		ctrk-mount --unmount <"$T/$C.json" | ctrk-vol detach | ctrk-snap remove >/dev/null
		ctrk-vol rm "lim-$type"
	done
	run findmnt -rn -o TARGET
	refute_output --partial "$CTRK_RUN/volumes"
}
