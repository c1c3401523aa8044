/* SPDX-License-Identifier: BSD-2-Clause */
/* sipdance.h - umbrella header of libsipdance: every public header. */
#ifndef SIPDANCE_H
#define SIPDANCE_H

#include <sipdance/version.h>
#include <sipdance/common.h>
#include <sipdance/anchor.h>
#include <sipdance/loop.h>
#include <sipdance/store.h>
#include <sipdance/tlsa.h>
#include <sipdance/dane.h>
#include <sipdance/dns.h>
#include <sipdance/policy.h>
#include <sipdance/locate.h>
#include <sipdance/passport.h>
#include <sipdance/identity.h>
#include <sipdance/x5u.h>
#include <sipdance/stir.h>
#include <sipdance/sdp.h>
#include <sipdance/clientid.h>
#include <sipdance/chain.h>

#endif
