/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ALT platform name used as the image-name prefix (spec core §4.2). */
#pragma once
#include <stdbool.h>
#include "error.h"

/* From U7S_PLATFORM if OVERRIDE is non-empty (then *from_env = true), else
 * from ROOT/etc/os-release. */
int ps_platform(const char *root, const char *override, char **out, bool *from_env, ps_error *err);
/* Pure function over os-release text, for tests. */
int ps_platform_from_os_release(const char *text, char **out, ps_error *err);
