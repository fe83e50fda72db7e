#ifndef SWITCHYARD_CQPDF_SHIM_H
#define SWITCHYARD_CQPDF_SHIM_H
// qpdf's C API only: the C++ API is not reachable from Swift, and the C one covers reading,
// checking and the page tree, which is all DocumentChecks needs.
#include <qpdf/qpdf-c.h>
#endif
