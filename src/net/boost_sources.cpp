// Debian's Boost 1.81 ships Boost.URL without a compiled library: build it here, once. (Boost.JSON is compiled in
// src/auth/boost_json.cpp, which the fuzz build links too.)
#include <boost/url/src.hpp>
