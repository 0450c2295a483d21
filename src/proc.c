/*
 * proc: see include/proc.h.
 */
#include "proc.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

bool
proc_lookup_user(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	if (!(pw = getpwnam(user))) {
		snprintf(err, errlen, "--user %s: %s", user,
			 errno ? strerror(errno) : "no such user");
		return false;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return true;
}

bool
proc_drop_privileges(const char *user, const char *const *paths, size_t npaths, char *err,
		     size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (!proc_lookup_user(user, &uid, &gid, err, errlen))
		return false;
	if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid && uid != 0)
		return true;
	if (geteuid() != 0) {
		snprintf(err, errlen, "--user %s: only root can change user", user);
		return false;
	}
	for (size_t i = 0; i < npaths; i++) {
		if (lchown(paths[i], uid, gid) != 0) {
			snprintf(err, errlen, "--user %s: chown %s: %s", user, paths[i],
				 strerror(errno));
			return false;
		}
	}
	/* Groups first: once the uid changes, setgid is no longer allowed. */
	if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		snprintf(err, errlen, "--user %s: %s", user, strerror(errno));
		return false;
	}
	if (uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "--user %s: root could be regained", user);
		return false;
	}
	return true;
}

void
proc_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}
