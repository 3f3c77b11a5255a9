/*
 * 03-zfs-image - an image, a read-only snapshot of it, and a writable
 * copy-on-write clone of the snapshot: the container's root file system.
 *
 * The post builds its container's disk with ZFS:
 *
 *   zpool create zpools /dev/sda5
 *   zfs create zpools/images -o mountpoint=/zpools/images
 *   zfs create zpools/images/myImage          (then copies programs and /lib in)
 *   zfs snapshot zpools/images/myImage@v1.0
 *   zfs clone zpools/images/myImage@v1.0 zpools/containers/myContainer
 *   zfs list          myContainer: USED 62K, REFER 605M
 *
 * The snapshot is the image: frozen, read-only.  The clone is the
 * container: it starts as nothing but a reference to the snapshot's blocks
 * (62K used, 605M seen) and pays only for what it changes.  This tool does
 * the same on three storage back ends, each in its own file:
 *
 *   zfs      the real zpool/zfs commands (OpenZFS, or zfs-fuse where the
 *            kernel has no ZFS: then `pool create` starts the daemon)
 *   btrfs    the kernel directly: a loop device (LOOP_CONFIGURE), subvolumes
 *            and snapshots (BTRFS_IOC_SUBVOL_CREATE, BTRFS_IOC_SNAP_CREATE_V2)
 *   overlay  Docker's overlay2: layers as directories, mount(2) "overlay"
 *
 * The paths are the post's whatever the back end: images at
 * STORE/images/NAME, containers at STORE/containers/NAME (STORE=/zpools).
 * `image populate` fills an image with programs and exactly the shared
 * libraries they need (populate.c), where the post copied all of /lib.
 *
 * Man pages: zfs(8), zpool(8), btrfs-subvolume(8), loop(4), mount(2),
 * Documentation/filesystems/overlayfs.rst, elf(5), ld.so(8).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define DEFAULT_POOL "zpools"       /* the post's pool */
#define DEFAULT_STORE "/zpools"     /* and where it is mounted */
#define DEFAULT_SIZE (1ull << 30)   /* pool create --size: 1G */

struct options {
	const char *backend;   /* --backend, or NULL: the first that works */
	const char *pool;      /* --pool, or NULL: the store's, else zpools */
	const char *store;     /* --store */
	struct pool_options pool_opt;
	int size_given;
	int json;
	int busybox;
	int from_host;
	char **args;           /* the command and its operands */
	int nargs;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [--backend zfs|btrfs|overlay] [--pool NAME] [--store DIR] [-x] COMMAND\n"
		"Make an image, a read-only snapshot of it and copy-on-write clones, as the\n"
		"post does with ZFS: images at STORE/images/NAME, containers at\n"
		"STORE/containers/NAME.\n"
		"\n"
		"Commands:\n"
		"  pool create [--size 1G] [--device DEV|FILE]   make the pool and mount it at STORE\n"
		"  pool destroy                        remove the pool and everything in it\n"
		"  image create NAME                   an empty writable image\n"
		"  image populate NAME [--busybox] [--from-host PROG...]\n"
		"                                      copy programs and exactly the libraries\n"
		"                                      they need (ELF PT_INTERP, DT_NEEDED)\n"
		"  snapshot NAME@TAG                   freeze the image: read-only, immutable\n"
		"  clone NAME@TAG CONTAINER            a writable clone of the snapshot, mounted\n"
		"  list [--json]                       NAME USED REFER MOUNTPOINT, as zfs list\n"
		"  destroy NAME|NAME@TAG|CONTAINER     refused while snapshots or clones depend on it\n"
		"\n"
		"Options:\n"
		"      --backend B   zfs, btrfs or overlay (pool create: the first that works\n"
		"                    here; later commands: the one the store was made with)\n"
		"      --pool NAME   the pool's name (default " DEFAULT_POOL ")\n"
		"      --store DIR   where the pool is mounted (default " DEFAULT_STORE ")\n"
		"  -x, --explain     trace each kernel call and command run, on stderr\n"
		"  -h, --help        show this help\n"
		"      --version     show the version\n"
		"\n"
		"The pool's backing file defaults to " DEFAULT_POOL_DIR "/POOL.img.  Names are\n"
		"1-%d characters: letters, digits, '_', '-', '.', ':', starting with a letter\n"
		"or digit.  Sizes take K, M, G (powers of 1024).  Exit status: 0 ok, 1 the\n"
		"system refused, 2 bad usage.\n"
		"Example: " PROG " -x pool create --size 256M && " PROG " image create myImage\n",
		NAME_MAX_LEN);
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	enum { OPT_BACKEND = 256, OPT_POOL, OPT_STORE, OPT_SIZE, OPT_DEVICE, OPT_JSON,
	       OPT_BUSYBOX, OPT_FROM_HOST, OPT_VERSION };
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "pool", required_argument, NULL, OPT_POOL },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "busybox", no_argument, NULL, OPT_BUSYBOX },
		{ "from-host", no_argument, NULL, OPT_FROM_HOST },
		{ "explain", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opt->store = DEFAULT_STORE;
	opt->pool_opt.size = DEFAULT_SIZE;
	opterr = 0;
	/* GNU getopt permutes: options may come before or after the command. */
	while ((c = getopt_long(argc, argv, ":xh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_BACKEND:
			opt->backend = optarg;
			break;
		case OPT_POOL:
			opt->pool = optarg;
			break;
		case OPT_STORE:
			opt->store = optarg;
			break;
		case OPT_SIZE:
			if (parse_size(optarg, &opt->pool_opt.size) < 0 || opt->pool_opt.size == 0)
				die_usage("--size '%s': not a size above 0 (e.g. 256M, 1G)", optarg);
			opt->size_given = 1;
			break;
		case OPT_DEVICE:
			if (!*optarg)
				die_usage("--device: empty path");
			opt->pool_opt.device = optarg;
			break;
		case OPT_JSON:
			opt->json = 1;
			break;
		case OPT_BUSYBOX:
			opt->busybox = 1;
			break;
		case OPT_FROM_HOST:
			opt->from_host = 1;
			break;
		case 'x':
			explain_enabled = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf(PROG " (tuna) " TUNA_VERSION "\n");
			exit(0);
		case ':':
			die_usage("option '%s' needs an argument", argv[optind - 1]);
		default:
			die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	opt->args = argv + optind;
	opt->nargs = argc - optind;
	if (opt->nargs == 0)
		die_usage("no command (see --help)");
}

/*
 * Names become dataset names, subvolume names and path components, so
 * they must be one harmless component: no '/', no leading '.' or '-' (so
 * never "." or ".."), no '@' (which separates NAME@TAG).
 */
static void validate_name(const char *what, const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		die_usage("%s: empty name", what);
	/* Said without echoing the name: a newline would split the line. */
	for (const char *p = name; *p; p++)
		if (iscntrl((unsigned char)*p))
			die_usage("%s: a control character (a newline, a tab...) in the name",
				  what);
	if (len > NAME_MAX_LEN)
		die_usage("%s '%.20s...': longer than %d characters", what, name, NAME_MAX_LEN);
	if (strchr(name, '@'))
		die_usage("%s '%s': '@' only separates NAME@TAG", what, name);
	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
	      (name[0] >= '0' && name[0] <= '9')))
		die_usage("%s '%s': must start with a letter or a digit", what, name);
	if (name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789_-.:")] != '\0')
		die_usage("%s '%s': only letters, digits, '_', '-', '.' and ':' are allowed",
			  what, name);
}

/* "myImage@v1.0" -> image "myImage", tag "v1.0"; exactly one '@'. */
static void split_snapshot(const char *arg, char *image, char *tag)
{
	const char *at = strchr(arg, '@');

	if (!at)
		die_usage("'%s': a snapshot is named NAME@TAG", arg);
	if ((size_t)(at - arg) > NAME_MAX_LEN)
		die_usage("'%.20s...': image name longer than %d characters", arg, NAME_MAX_LEN);
	memcpy(image, arg, (size_t)(at - arg));
	image[at - arg] = '\0';
	validate_name("snapshot's image", image);
	validate_name("snapshot's tag", at + 1);
	strcpy(tag, at + 1);
}

static const struct backend *backend_named(const char *name)
{
	if (strcmp(name, "zfs") == 0)
		return &backend_zfs;
	if (strcmp(name, "btrfs") == 0)
		return &backend_btrfs;
	if (strcmp(name, "overlay") == 0)
		return &backend_overlay;
	die_usage("--backend '%s': one of zfs, btrfs, overlay", name);
}

/* pool create: --backend, or the first back end that can work here. */
static const struct backend *choose_backend(const char *name)
{
	static const struct backend *const order[] = {
		&backend_zfs, &backend_btrfs, &backend_overlay,
	};
	const char *why;

	if (name) {
		const struct backend *b = backend_named(name);

		why = b->unavailable();
		if (why)
			die_hint(b->install_hint, "backend %s cannot work here: %s", b->name, why);
		return b;
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		why = order[i]->unavailable();
		if (!why)
			return order[i];
		explain_note("# backend %s skipped: %s", order[i]->name, why);
	}
	die("no storage backend works here (zfs, btrfs, overlay)");
}

/* Every command but `pool create`: the store says which back end it uses. */
static void open_store(struct store *s, const struct options *opt)
{
	int r = state_read(s);

	if (r == -ENOENT)
		die("no pool at %s (run '" PROG " --store %s pool create' first)", s->dir, s->dir);
	if (r < 0)
		die_err(-r, "read %s/" STATE_FILE, s->dir);
	if (opt->backend && backend_named(opt->backend) != s->backend)
		die_usage("--backend %s: the store %s uses %s", opt->backend, s->dir,
			  s->backend->name);
	if (opt->pool && strcmp(opt->pool, s->pool) != 0)
		die_usage("--pool %s: the store %s holds pool %s", opt->pool, s->dir, s->pool);
}

static int entries_count;
static struct entry entries[MAX_ENTRIES];

static const struct entry *find_entry(const char *name, int type)
{
	for (int i = 0; i < entries_count; i++)
		if (strcmp(entries[i].name, name) == 0 && (type < 0 || (int)entries[i].type == type))
			return &entries[i];
	return NULL;
}

static const char *const type_names[] = { "image", "snapshot", "container" };

static void print_list(int json)
{
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_array(&j);
		for (int i = 0; i < entries_count; i++) {
			json_begin_object(&j);
			json_key(&j, "name");
			json_string(&j, entries[i].name);
			json_key(&j, "type");
			json_string(&j, type_names[entries[i].type]);
			json_key(&j, "used");
			json_u64(&j, entries[i].used);
			json_key(&j, "refer");
			json_u64(&j, entries[i].refer);
			json_key(&j, "mountpoint");
			if (entries[i].mountpoint[0])
				json_string(&j, entries[i].mountpoint);
			else
				json_null(&j);
			json_end_object(&j);
		}
		json_end_array(&j);
		json_finish(&j);
		return;
	}
	printf("%-24s %-9s %6s %6s  %s\n", "NAME", "TYPE", "USED", "REFER", "MOUNTPOINT");
	for (int i = 0; i < entries_count; i++) {
		char used[16], refer[16];

		human_size(entries[i].used, used, sizeof(used));
		human_size(entries[i].refer, refer, sizeof(refer));
		printf("%-24s %-9s %6s %6s  %s\n", entries[i].name, type_names[entries[i].type],
		       used, refer, entries[i].mountpoint[0] ? entries[i].mountpoint : "-");
	}
}

/* Nothing may depend on what `destroy` removes: zfs's rule, kept everywhere. */
static void destroy_checked(struct store *s, const char *name)
{
	const struct entry *e = find_entry(name, -1);

	if (!e)
		die("destroy %s: no image, snapshot or container of that name", name);
	for (int i = 0; i < entries_count; i++) {
		if (strcmp(entries[i].origin, name) != 0)
			continue;
		if (e->type == ENTRY_IMAGE)
			die("cannot destroy image %s: it has snapshot %s (destroy its snapshots "
			    "and their clones first)", name, entries[i].name);
		die("cannot destroy snapshot %s: container %s is a clone of it (destroy "
		    "the container first)", name, entries[i].name);
	}
	s->backend->destroy(s, e);
}

/* The operands a command takes, and the options only it may have. */
static void expect_args(const struct options *opt, int n, const char *form)
{
	int cmd_pool_create = n == 2 && strcmp(opt->args[0], "pool") == 0 &&
			      strcmp(opt->args[1], "create") == 0;
	int cmd_populate = strcmp(opt->args[0], "image") == 0 && opt->nargs > 1 &&
			   strcmp(opt->args[1], "populate") == 0;

	if (opt->nargs < n || (opt->nargs > n && !(cmd_populate && opt->from_host)))
		die_usage("usage: " PROG " %s", form);
	if ((opt->size_given || opt->pool_opt.device) && !cmd_pool_create)
		die_usage("--size and --device belong to 'pool create'");
	if ((opt->busybox || opt->from_host) && !cmd_populate)
		die_usage("--busybox and --from-host belong to 'image populate'");
	if (opt->json && strcmp(opt->args[0], "list") != 0)
		die_usage("--json belongs to 'list'");
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct store s = { 0 };
	char image[NAME_MAX_LEN + 1], tag[NAME_MAX_LEN + 1], path[PATH_MAX], other[PATH_MAX];
	const char *cmd, *sub;

	tuna_set_prog(PROG);
	parse_options(argc, argv, &opt);
	cmd = opt.args[0];
	sub = opt.nargs > 1 ? opt.args[1] : "";

	/* 1. Validate everything the user typed before touching anything. */
	validate_store(opt.store);
	snprintf(s.dir, sizeof(s.dir), "%s", opt.store);
	if (opt.pool) {
		validate_name("--pool", opt.pool);
		if (!((opt.pool[0] >= 'a' && opt.pool[0] <= 'z') ||
		      (opt.pool[0] >= 'A' && opt.pool[0] <= 'Z')))
			die_usage("--pool '%s': a pool name starts with a letter (zpool(8))", opt.pool);
	}
	if (opt.backend)
		backend_named(opt.backend);

	/* 2. pool create: choose the back end, make the pool, remember both. */
	if (strcmp(cmd, "pool") == 0 && strcmp(sub, "create") == 0) {
		expect_args(&opt, 2, "pool create [--size SIZE] [--device DEV|FILE]");
		snprintf(s.pool, sizeof(s.pool), "%s", opt.pool ? opt.pool : DEFAULT_POOL);
		s.backend = choose_backend(opt.backend);
		if (opt.pool_opt.size < s.backend->min_size)
			die_usage("--size: the %s backend needs at least %lluM", s.backend->name,
				  (unsigned long long)(s.backend->min_size >> 20));
		if (path_exists(s.dir)) {
			char state[PATH_MAX];

			path_format(state, "%s/" STATE_FILE, s.dir);
			if (path_exists(state) || is_mount_point(s.dir))
				die("pool create: a pool is already mounted at %s", s.dir);
			if (!dir_is_empty(s.dir))
				die("pool create: %s is not empty (a pool would hide what is in it)",
				    s.dir);
		}
		s.backend->pool_create(&s, &opt.pool_opt);
		undo_forget();
		return 0;
	}

	/* 3. Every other command works on an existing store. */
	if (strcmp(cmd, "pool") == 0 && strcmp(sub, "destroy") == 0) {
		expect_args(&opt, 2, "pool destroy");
		open_store(&s, &opt);
		s.backend->pool_destroy(&s);
		return 0;
	}
	if (strcmp(cmd, "image") == 0 && strcmp(sub, "create") == 0) {
		expect_args(&opt, 3, "image create NAME");
		validate_name("image", opt.args[2]);
		open_store(&s, &opt);
		entries_count = s.backend->list(&s, entries);
		if (find_entry(opt.args[2], -1))
			die("image create %s: an image or container of that name exists",
			    opt.args[2]);
		s.backend->image_create(&s, opt.args[2]);
	} else if (strcmp(cmd, "image") == 0 && strcmp(sub, "populate") == 0) {
		const struct entry *e;

		expect_args(&opt, 3, "image populate NAME [--busybox] [--from-host PROG...]");
		validate_name("image", opt.args[2]);
		if (opt.from_host && opt.nargs == 3)
			die_usage("--from-host: name at least one program");
		if (!opt.from_host && !opt.busybox)
			die_usage("image populate: give --busybox and/or --from-host PROG...");
		open_store(&s, &opt);
		entries_count = s.backend->list(&s, entries);
		e = find_entry(opt.args[2], ENTRY_IMAGE);
		if (!e || !e->mountpoint[0])
			die("image populate %s: no such image", opt.args[2]);
		populate(e->mountpoint, opt.busybox, opt.args + 3, opt.nargs - 3);
	} else if (strcmp(cmd, "snapshot") == 0) {
		expect_args(&opt, 2, "snapshot NAME@TAG");
		split_snapshot(opt.args[1], image, tag);
		open_store(&s, &opt);
		entries_count = s.backend->list(&s, entries);
		if (!find_entry(image, ENTRY_IMAGE))
			die("snapshot %s: no image %s", opt.args[1], image);
		if (find_entry(opt.args[1], ENTRY_SNAPSHOT))
			die("snapshot %s: it exists already (snapshots are immutable)", opt.args[1]);
		s.backend->snapshot(&s, image, tag);
	} else if (strcmp(cmd, "clone") == 0) {
		expect_args(&opt, 3, "clone NAME@TAG CONTAINER");
		split_snapshot(opt.args[1], image, tag);
		validate_name("container", opt.args[2]);
		open_store(&s, &opt);
		/*
		 * No listing here: a clone must cost what the back end's clone
		 * costs (for zfs, listing is one more zfs command).  Names are
		 * checked through their mount points; the back end itself
		 * refuses a snapshot that does not exist.
		 */
		path_format(path, "%s/images/%s", s.dir, image);
		if (!path_exists(path))
			die("clone %s: no image %s", opt.args[1], image);
		path_format(path, "%s/images/%s", s.dir, opt.args[2]);
		path_format(other, "%s/containers/%s", s.dir, opt.args[2]);
		if (path_exists(path) || path_exists(other))
			die("clone %s: an image or container of that name exists", opt.args[2]);
		s.backend->clone(&s, image, tag, opt.args[2]);
	} else if (strcmp(cmd, "list") == 0) {
		expect_args(&opt, 1, "list [--json]");
		open_store(&s, &opt);
		entries_count = s.backend->list(&s, entries);
		print_list(opt.json);
	} else if (strcmp(cmd, "destroy") == 0) {
		expect_args(&opt, 2, "destroy NAME|NAME@TAG|CONTAINER");
		if (strchr(opt.args[1], '@'))
			split_snapshot(opt.args[1], image, tag);
		else
			validate_name("destroy", opt.args[1]);
		open_store(&s, &opt);
		entries_count = s.backend->list(&s, entries);
		destroy_checked(&s, opt.args[1]);
	} else {
		die_usage("unknown command '%s%s%s' (see --help)", cmd, *sub ? " " : "", sub);
	}
	undo_forget();
	return 0;
}
