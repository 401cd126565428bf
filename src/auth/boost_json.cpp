// Debian's Boost 1.81 ships Boost.JSON without a compiled library: build it here, once, in the lowest library that
// parses JSON (JWT and JWKS), so that the server, the tests and the fuzz targets all link the same copy.
#include <boost/json/src.hpp>
