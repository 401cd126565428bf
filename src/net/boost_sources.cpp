// Debian's Boost 1.81 ships Boost.JSON and Boost.URL without compiled libraries: build them here, once.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
