/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_STRUTIL_H
#define DEPLOY_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The closest of `candidates` (NULL-terminated, or `nr` of them when nr is
 * not SIZE_MAX) to `word`, for "did you mean" hints; NULL when none is close
 * enough (optimal string alignment distance at most 1 for short words, at
 * most a third of the word's length otherwise).
 */
const char *suggest(const char *word, const char *const *candidates, size_t nr);
/* Optimal string alignment distance (Levenshtein with transpositions). */
size_t edit_distance(const char *a, const char *b);

/* [a-z0-9] and '-', 1 to 63 characters, not starting or ending with '-'. */
bool is_dns_label(const char *s);
/* A host name: DNS labels joined by dots, at most 253 characters. */
bool is_dns_name(const char *s);
/* [A-Za-z_][A-Za-z0-9_]*: reachable as a template variable. */
bool is_identifier(const char *s);
/* A login name: 1 to 32 of [a-z0-9_-], starting with a letter or '_'. */
bool is_user_name(const char *s);

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;
};

/* Parse "ADDR/LEN". 0 on success; on failure why points at a reason. */
int cidr_parse(const char *s, struct cidr *out, const char **why);
/* Whether bits past the prefix are set (10.0.0.1/8). */
bool cidr_has_host_bits(const struct cidr *c);
/* The network address of c as text ("10.0.0.0/8") into out. */
void cidr_format_network(const struct cidr *c, char *out, size_t size);
bool is_ip_address(const char *s);

#endif
