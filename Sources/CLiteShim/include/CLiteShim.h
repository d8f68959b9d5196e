/* CLiteShim — the thin C layer: only what Swift cannot do or see (DESIGN.md). */
#ifndef CLITESHIM_H
#define CLITESHIM_H
#include "liteshield_abi.h"
#include "ls_ipc.h"
#include "ls_sandbox.h"
#include "ls_net.h"
#endif
