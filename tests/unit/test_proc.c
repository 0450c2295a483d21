/*
 * Unit tests for proc (include/proc.h): looking a user up, dropping
 * privileges for good (in a child process: it cannot be undone), handing
 * files over without following symbolic links, the errors, and raising
 * the open-files limit. The drop needs root and an unprivileged user
 * ("nobody"); without them those tests are skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

#define T_USER "nobody"

static void
lookup_user(void **state)
{
	uid_t uid = 1;
	gid_t gid = 1;
	char err[256] = "";
	(void)state;

	assert_true(proc_lookup_user("root", &uid, &gid, err, sizeof(err)));
	assert_int_equal(uid, 0);
	assert_int_equal(gid, 0);
	assert_false(proc_lookup_user("no-such-user-mxcache", &uid, &gid, err, sizeof(err)));
	assert_string_equal(err, "--user no-such-user-mxcache: no such user");
}

static void
unknown_user_is_not_dropped_to(void **state)
{
	char err[256] = "";
	(void)state;

	assert_false(proc_drop_privileges("no-such-user-mxcache", NULL, 0, err, sizeof(err)));
	assert_string_equal(err, "--user no-such-user-mxcache: no such user");
}

/* Runs fn in a child; its exit status is the number of the check that
 * failed (0: all held). */
static void
t_in_child(int (*fn)(const char *dir), const char *dir)
{
	int status;
	pid_t pid;

	fflush(NULL);
	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		_exit(fn(dir));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("check %d failed in the child", WEXITSTATUS(status));
}

static int
t_drop(const char *dir)
{
	const struct passwd *pw = getpwnam(T_USER);
	char file[256], link[256], err[256];
	const char *paths[2] = {link, file};
	struct stat st;
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	gid_t groups[64];
	int n;

	snprintf(file, sizeof(file), "%s/sock", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	/* Root's supplementary groups, which the drop must not keep. */
	groups[0] = 0;
	if (setgroups(1, groups) != 0)
		return 10;
	if (!proc_drop_privileges(T_USER, paths, 1, err, sizeof(err)))
		return 1;
	if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
		return 2;
	/* The link was handed over, not what it points to. */
	if (lstat(link, &st) != 0 || st.st_uid != uid || st.st_gid != gid)
		return 3;
	if (stat(file, &st) != 0 || st.st_uid != 0)
		return 4;
	/* Supplementary groups are the user's, none of root's. */
	if ((n = getgroups(64, groups)) < 0)
		return 5;
	for (int i = 0; i < n; i++)
		if (groups[i] == 0)
			return 6;
	if (setuid(0) == 0 || seteuid(0) == 0)
		return 7;
	/* Already the user: nothing to do, and no error. */
	if (!proc_drop_privileges(T_USER, NULL, 0, err, sizeof(err)))
		return 8;
	/* Another user is out of reach now. */
	if (proc_drop_privileges("root", NULL, 0, err, sizeof(err)) ||
	    strcmp(err, "--user root: only root can change user") != 0)
		return 9;
	return 0;
}

static int
t_drop_missing_path(const char *dir)
{
	char missing[256], err[256];
	const char *paths[1] = {missing};

	snprintf(missing, sizeof(missing), "%s/missing", dir);
	if (proc_drop_privileges(T_USER, paths, 1, err, sizeof(err)))
		return 1;
	if (!strstr(err, "chown") || !strstr(err, missing))
		return 2;
	if (geteuid() != 0) /* refused before anything changed */
		return 3;
	return 0;
}

/* A directory holding a file and a link to it, for the drop to hand
 * over; removed by t_dir_teardown even when a check fails. */
struct t_dir {
	char dir[32], file[64], link[64];
};

static int
t_dir_setup(void **state)
{
	static struct t_dir d;
	FILE *f;

	strcpy(d.dir, "/tmp/test_proc.XXXXXX");
	if (!mkdtemp(d.dir))
		return -1;
	snprintf(d.file, sizeof(d.file), "%s/sock", d.dir);
	snprintf(d.link, sizeof(d.link), "%s/link", d.dir);
	/* The dropped child looks inside. */
	if (chmod(d.dir, 0755) != 0 || !(f = fopen(d.file, "w")))
		return -1;
	fclose(f);
	*state = &d;
	return symlink(d.file, d.link);
}

static int
t_dir_teardown(void **state)
{
	struct t_dir *d = *state;

	unlink(d->link);
	unlink(d->file);
	rmdir(d->dir);
	return 0;
}

static void
drop_privileges(void **state)
{
	const struct t_dir *d = *state;

	if (geteuid() != 0 || !getpwnam(T_USER) || getpwnam(T_USER)->pw_uid == 0)
		skip();
	t_in_child(t_drop, d->dir);
	t_in_child(t_drop_missing_path, d->dir);
}

static int
t_raise(const char *dir)
{
	struct rlimit rl;
	(void)dir;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1;
	if (rl.rlim_max < 64)
		return 0;
	rl.rlim_cur = 32;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 2;
	proc_raise_nofile();
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur != rl.rlim_max)
		return 3;
	/* At the hard limit already: stays there. */
	proc_raise_nofile();
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur != rl.rlim_max)
		return 4;
	return 0;
}

static void
raise_nofile(void **state)
{
	(void)state;
	t_in_child(t_raise, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lookup_user),
	    cmocka_unit_test(unknown_user_is_not_dropped_to),
	    cmocka_unit_test_setup_teardown(drop_privileges, t_dir_setup, t_dir_teardown),
	    cmocka_unit_test(raise_nofile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
