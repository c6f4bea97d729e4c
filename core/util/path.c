/* SPDX-License-Identifier: MIT */
/* Paths: the home directory, "~" expansion, a file's directory. */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && *home)
		return home;
	pw = getpwuid(getuid());
	if (pw && pw->pw_dir && *pw->pw_dir)
		return pw->pw_dir;
	return "/";
}

char *path_expand(const char *path, const char *dir)
{
	struct buf b = BUF_INIT;

	if (path[0] == '~' && (path[1] == '/' || !path[1])) {
		const char *home = home_dir();

		buf_adds(&b, home);
		/* "~/x" with home "/" is "/x", not "//x". */
		if (path[1] && path[2]) {
			if (b.len && b.data[b.len - 1] != '/')
				buf_adds(&b, "/");
			buf_adds(&b, path + 2);
		}
	} else if (path[0] != '/' && dir && *dir && strcmp(dir, ".")) {
		buf_addf(&b, "%s/%s", dir, path);
	} else {
		buf_adds(&b, path);
	}
	return buf_release(&b);
}

char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}
