/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_TEST_CMOCKA_H
#define DEPLOY_TEST_CMOCKA_H

/* cmocka needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#endif
