/*
 * options.c - 03-zfs-image's command line, checked whole before anything
 * is touched: the options, the command and its operands.  Bad input exits
 * 2 here with one line.  A first reading can skip this file.
 *
 * Names become dataset names, subvolume names and path components, so
 * each must be one harmless component: letters, digits, '_', '-', '.' and
 * ':', starting with a letter or a digit (so never "." or ".."), no '/',
 * and '@' only between NAME and TAG.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tuna.h"
#include "zfs-image.h"

#define DEFAULT_SIZE (1ull << 30)   /* pool create --size: 1G */

/* The options, before or after the command (GNU getopt permutes). */
static void parse_options(int argc, char **argv, struct options *opt, int *size_given,
			  int *from_host)
{
	enum { OPT_BACKEND = 256, OPT_POOL, OPT_STORE, OPT_SIZE, OPT_DEVICE, OPT_FS, OPT_JSON,
	       OPT_BUSYBOX, OPT_FROM_HOST, OPT_VERSION };
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "pool", required_argument, NULL, OPT_POOL },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "fs", required_argument, NULL, OPT_FS },
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
			*size_given = 1;
			break;
		case OPT_DEVICE:
			if (!*optarg)
				die_usage("--device: empty path");
			opt->pool_opt.device = optarg;
			break;
		case OPT_FS:
			if (strcmp(optarg, "tmpfs") != 0 && strcmp(optarg, "xfs") != 0)
				die_usage("--fs '%s': tmpfs or xfs", optarg);
			opt->pool_opt.fs = optarg;
			break;
		case OPT_JSON:
			opt->json = 1;
			break;
		case OPT_BUSYBOX:
			opt->busybox = 1;
			break;
		case OPT_FROM_HOST:
			*from_host = 1;
			break;
		case 'x':
			explain_enabled = 1;
			break;
		case 'h':
			opt->help = 1;    /* main() prints it: --help ends the parsing */
			return;
		case OPT_VERSION:
			opt->version = 1;
			return;
		case ':':
			die_usage("option '%s' needs an argument", argv[optind - 1]);
		default:
			die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
}

/* STORE must be an absolute, canonical path: it is mounted on and removed. */
static void validate_store(const char *dir)
{
	if (dir[0] != '/' || strcmp(dir, "/") == 0)
		die_usage("--store '%s': an absolute directory other than /", dir);
	if (strstr(dir, "/../") || strstr(dir, "/./") || strstr(dir, "//") ||
	    (strlen(dir) >= 3 && strcmp(dir + strlen(dir) - 3, "/..") == 0) ||
	    (strlen(dir) >= 2 && strcmp(dir + strlen(dir) - 2, "/.") == 0) ||
	    dir[strlen(dir) - 1] == '/')
		die_usage("--store '%s': give the path without '.', '..' or '//'", dir);
	if (strlen(dir) >= PATH_MAX / 2)
		die_usage("--store: path too long");
}

/* One harmless path component (see the top of this file). */
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

/* The words of each command, its operands, and what the usage line says. */
static const struct {
	const char *word, *sub;
	int nargs;               /* the words and operands it takes */
	const char *form;
} commands[] = {
	[CMD_POOL_CREATE] = { "pool", "create", 2,
			      "pool create [--size SIZE] [--device DEV|FILE] [--fs tmpfs|xfs]" },
	[CMD_POOL_DESTROY] = { "pool", "destroy", 2, "pool destroy" },
	[CMD_IMAGE_CREATE] = { "image", "create", 3, "image create NAME" },
	[CMD_IMAGE_POPULATE] = { "image", "populate", 3,
				 "image populate NAME [--busybox] [--from-host PROG...]" },
	[CMD_SNAPSHOT] = { "snapshot", NULL, 2, "snapshot NAME@TAG" },
	[CMD_CLONE] = { "clone", NULL, 3, "clone NAME@TAG CONTAINER [--size SIZE]" },
	[CMD_LIST] = { "list", NULL, 1, "list [--json]" },
	[CMD_DESTROY] = { "destroy", NULL, 2, "destroy NAME|NAME@TAG|CONTAINER" },
};

void parse_command_line(int argc, char **argv, struct options *opt)
{
	int size_given = 0, from_host = 0, nargs, cmd, ncommands = (int)(sizeof(commands) /
								       sizeof(commands[0]));
	char **args;
	const char *sub;

	parse_options(argc, argv, opt, &size_given, &from_host);
	if (opt->help || opt->version)
		return;
	args = argv + optind;
	nargs = argc - optind;
	if (nargs == 0)
		die_usage("no command (see --help)");
	sub = nargs > 1 ? args[1] : "";

	/* The options first, then the command's words. */
	validate_store(opt->store);
	if (opt->pool) {
		validate_name("--pool", opt->pool);
		if (!((opt->pool[0] >= 'a' && opt->pool[0] <= 'z') ||
		      (opt->pool[0] >= 'A' && opt->pool[0] <= 'Z')))
			die_usage("--pool '%s': a pool name starts with a letter (zpool(8))", opt->pool);
	}
	if (opt->backend && !backend_named(opt->backend))
		die_usage("--backend '%s': one of zfs, btrfs, overlay, devicemapper", opt->backend);
	for (cmd = 0; cmd < ncommands; cmd++)
		if (strcmp(args[0], commands[cmd].word) == 0 &&
		    (!commands[cmd].sub || strcmp(sub, commands[cmd].sub) == 0))
			break;
	if (cmd == ncommands)
		die_usage("unknown command '%s%s%s' (see --help)", args[0], *sub ? " " : "", sub);
	opt->command = cmd;

	/* The operands it takes, and the options only it may have. */
	if (nargs < commands[cmd].nargs ||
	    (nargs > commands[cmd].nargs && !(cmd == CMD_IMAGE_POPULATE && from_host)))
		die_usage("usage: " PROG " %s", commands[cmd].form);
	if ((opt->pool_opt.device || opt->pool_opt.fs) && cmd != CMD_POOL_CREATE)
		die_usage("--device and --fs belong to 'pool create'");
	if (size_given && cmd != CMD_POOL_CREATE && cmd != CMD_CLONE)
		die_usage("--size belongs to 'pool create' and 'clone'");
	if (size_given && cmd == CMD_CLONE)
		opt->clone_size = opt->pool_opt.size;
	opt->pool_opt.size_given = size_given;
	if ((opt->busybox || from_host) && cmd != CMD_IMAGE_POPULATE)
		die_usage("--busybox and --from-host belong to 'image populate'");
	if (opt->json && cmd != CMD_LIST)
		die_usage("--json belongs to 'list'");

	/* The names. */
	switch (opt->command) {
	case CMD_IMAGE_CREATE:
	case CMD_IMAGE_POPULATE:
		opt->name = args[2];
		validate_name("image", opt->name);
		opt->progs = args + 3;
		opt->nprogs = nargs - 3;
		if (cmd == CMD_IMAGE_POPULATE && from_host && opt->nprogs == 0)
			die_usage("--from-host: name at least one program");
		if (cmd == CMD_IMAGE_POPULATE && !from_host && !opt->busybox)
			die_usage("image populate: give --busybox and/or --from-host PROG...");
		break;
	case CMD_SNAPSHOT:
		split_snapshot(args[1], opt->image, opt->tag);
		break;
	case CMD_CLONE:
		split_snapshot(args[1], opt->image, opt->tag);
		opt->name = args[2];
		validate_name("container", opt->name);
		break;
	case CMD_DESTROY:
		opt->name = args[1];
		if (strchr(opt->name, '@'))
			split_snapshot(opt->name, opt->image, opt->tag);
		else
			validate_name("destroy", opt->name);
		break;
	case CMD_POOL_CREATE:
	case CMD_POOL_DESTROY:
	case CMD_LIST:
		break;
	}
}
