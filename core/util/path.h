/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PATH_H
#define DEPLOY_PATH_H

/*
 * Paths as deploy means them everywhere: one home directory, one meaning
 * of "~", one way to name a file's directory.
 */

/*
 * The home directory: $HOME when set and not empty, else the password
 * database's entry for this user, else "/". Never NULL; not to be freed.
 */
const char *home_dir(void);

/*
 * path with a leading "~" or "~/" replaced by home_dir(), and a relative
 * path taken from dir (when dir is not NULL and not "."). "~user" is not
 * expanded. The result is malloc'd.
 */
char *path_expand(const char *path, const char *dir);

/* The directory part of path ("." when it has none); malloc'd. */
char *dir_of(const char *path);

#endif
