/* SPDX-License-Identifier: BSD-2-Clause */
/* sipdance.h - umbrella header of libsipdance. */
#ifndef SIPDANCE_H
#define SIPDANCE_H

#include <sipdance/common.h>
#include <sipdance/tlsa.h>
#include <sipdance/dane.h>

#endif
