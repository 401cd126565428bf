#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "auth/callout.hpp"

namespace sg::auth {
namespace {

AccessRequest sample(Action action) {
  AccessRequest r;
  r.credentials.user = "alice";
  r.credentials.password = "p\"w";
  r.credentials.token = "tok";
  r.ip = IpAddress::parse("192.0.2.7").value();
  r.action = action;
  r.path = "cam1";
  r.protocol = "rtsp";
  r.id = "c0ffee";
  r.query = "a=1&b=2";
  return r;
}

TEST(AuthCallout, BodyHasMediamtxFields) {
  EXPECT_EQ(callout_body(sample(Action::Publish)),
            R"({"user":"alice","password":"p\"w","token":"tok","ip":"192.0.2.7","action":"publish","path":"cam1",)"
            R"("protocol":"rtsp","id":"c0ffee","query":"a=1&b=2"})");
}

TEST(AuthCallout, ApiActionsAreSentAsApiWithAccess) {
  auto read = boost::json::parse(callout_body(sample(Action::ApiRead))).as_object();
  EXPECT_EQ(read.at("action"), "api");
  EXPECT_EQ(read.at("api_access"), "read");
  auto write = boost::json::parse(callout_body(sample(Action::ApiWrite))).as_object();
  EXPECT_EQ(write.at("action"), "api");
  EXPECT_EQ(write.at("api_access"), "write");
  EXPECT_FALSE(boost::json::parse(callout_body(sample(Action::Metrics))).as_object().contains("api_access"));
}

TEST(AuthCallout, Ipv6AddressIsWrittenInItsTextForm) {
  auto r = sample(Action::Read);
  r.ip = IpAddress::parse("2001:db8::1").value();
  EXPECT_EQ(boost::json::parse(callout_body(r)).as_object().at("ip"), "2001:db8::1");
}

}  // namespace
}  // namespace sg::auth
