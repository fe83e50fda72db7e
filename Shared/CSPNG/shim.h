#ifndef SWITCHYARD_CSPNG_SHIM_H
#define SWITCHYARD_CSPNG_SHIM_H
#include <stdio.h>
#include <spng.h>
#endif
