// Config parsing: defaults, every key, and every error path naming file:line and what is wrong.
#include <gtest/gtest.h>

#include <fstream>

#include "app/config.hpp"
#include "media/stream_registry.hpp"

namespace sg::app {
namespace {

std::string error_of(std::string_view yaml) {
  auto r = parse_config(yaml, "test.yaml");
  EXPECT_FALSE(r) << "expected an error for:\n" << yaml;
  return r ? std::string() : r.error();
}

TEST(Config, EmptyFileGivesDefaults) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->http.port, 8080);
  EXPECT_EQ(c->rtsp.port, 8554);
  EXPECT_EQ(c->webrtc_udp.port, 8189);
  EXPECT_EQ(c->workers, 0u);
  EXPECT_EQ(c->reader_queue, 512u);
  EXPECT_EQ(c->log_format, "json");
  EXPECT_TRUE(c->streams.empty());
}

TEST(Config, ParsesTheDocumentedExample) {
  auto c = parse_config(R"(
server:
  http: 127.0.0.1:9000
  rtsp: 0.0.0.0:9554
  webrtc_udp: "[::1]:9189"
workers: 3
log: { level: debug, format: text }
reader_queue: 256
rtsp:
  publish_conflict: replace
  publish_auth: { user: pub, pass: secret }
  auth_method: basic
streams:
  cam1: { source: "rtsp://user:pass@10.0.0.5/stream1", on_demand: true, rtsp_transport: tcp }
  test: { source: "exec:ffmpeg -re -i x -f rtsp rtsp://127.0.0.1:8554/$STREAM" }
)",
                        "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->http.host, "127.0.0.1");
  EXPECT_EQ(c->http.port, 9000);
  EXPECT_EQ(c->webrtc_udp.host, "::1");
  EXPECT_EQ(c->workers, 3u);
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->log_format, "text");
  EXPECT_EQ(c->reader_queue, 256u);
  EXPECT_EQ(c->rtsp_options.publish_conflict, "replace");
  EXPECT_EQ(c->rtsp_options.publish_auth.user, "pub");
  EXPECT_EQ(c->rtsp_options.auth_method, "basic");
  ASSERT_EQ(c->streams.size(), 2u);
  EXPECT_EQ(c->streams[0].id, "cam1");
  EXPECT_TRUE(c->streams[0].on_demand);
  EXPECT_EQ(c->streams[0].rtsp_transport, "tcp");
  EXPECT_EQ(c->streams[1].source.substr(0, 5), "exec:");
}

TEST(Config, RecordPathHasADefaultAndNeedsStream) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->record_path, "./recordings/%stream/%Y-%m-%d_%H-%M-%S-%f");
  auto set = parse_config("record_path: /var/lib/sg/%stream/%Y%m%d-%H%M%S-%f\n", "test.yaml");
  ASSERT_TRUE(set) << set.error();
  EXPECT_EQ(set->record_path, "/var/lib/sg/%stream/%Y%m%d-%H%M%S-%f");
  EXPECT_NE(error_of("record_path: /var/lib/sg/%Y\n").find("test.yaml:1"), std::string::npos);
  EXPECT_NE(error_of("record_path: /var/lib/sg/%Y\n").find("must contain %stream"), std::string::npos);
}

TEST(Config, TypoInKeyNamesFileLineAndKey) {
  auto e = error_of("server:\n  http: 0.0.0.0:8080\n  htp: 0.0.0.0:8081\n");
  EXPECT_EQ(e.rfind("test.yaml:3: unknown key 'htp' in 'server'", 0), 0u) << e;
  EXPECT_NE(e.find("expected one of: http, rtsp, webrtc_udp"), std::string::npos) << e;
}

TEST(Config, UnknownTopLevelKey) {
  auto e = error_of("workers: 1\nstreamz: {}\n");
  EXPECT_EQ(e.rfind("test.yaml:2: unknown key 'streamz'", 0), 0u) << e;
}

TEST(Config, WrongTypes) {
  EXPECT_NE(error_of("workers: many\n").find("test.yaml:1: 'workers' must be an integer"), std::string::npos);
  EXPECT_NE(error_of("workers: [1]\n").find("'workers' must be an integer"), std::string::npos);
  EXPECT_NE(error_of("server: 5\n").find("'server' must be a mapping"), std::string::npos);
  EXPECT_NE(error_of("streams:\n  a: { source: publisher, on_demand: maybe }\n").find("test.yaml:2: 'streams.a.on_demand' must be true or false"),
            std::string::npos);
  EXPECT_NE(error_of("streams: [a, b]\n").find("'streams' must be a mapping"), std::string::npos);
  EXPECT_NE(error_of("server:\n  http: [1]\n").find("'server.http' must be a string"), std::string::npos);
}

TEST(Config, InvalidValues) {
  EXPECT_NE(error_of("workers: 1000\n").find("'workers' must be between 0 and 256, got 1000"), std::string::npos);
  EXPECT_NE(error_of("reader_queue: 1\n").find("'reader_queue' must be between"), std::string::npos);
  EXPECT_NE(error_of("server:\n  http: localhost\n").find("test.yaml:2: 'server.http': bad address 'localhost'"),
            std::string::npos);
  EXPECT_NE(error_of("server:\n  rtsp: 1.2.3.4:99999\n").find("bad port"), std::string::npos);
  EXPECT_NE(error_of("log:\n  level: loud\n").find("'log.level' must be one of: trace, debug, info, warn, error, off; got 'loud'"),
            std::string::npos);
  EXPECT_NE(error_of("log: { format: xml }\n").find("'log.format' must be one of"), std::string::npos);
  EXPECT_NE(error_of("rtsp: { publish_conflict: fight }\n").find("'rtsp.publish_conflict'"), std::string::npos);
  EXPECT_NE(error_of("rtsp: { read_auth: { pass: x } }\n").find("needs a non-empty 'user'"), std::string::npos);
  EXPECT_NE(error_of("rtsp: { session_timeout: 1 }\n").find("'rtsp.session_timeout' must be between 5"), std::string::npos);
}

TEST(Config, StreamErrors) {
  EXPECT_NE(error_of("streams:\n  a: { on_demand: true }\n").find("test.yaml:2: 'streams.a' needs a 'source'"),
            std::string::npos);
  EXPECT_NE(error_of("streams:\n  a: { source: 'http://x' }\n").find("'streams.a.source': source must be"),
            std::string::npos);
  EXPECT_NE(error_of("streams:\n  'a/b': { source: publisher }\n").find("invalid stream id 'a/b'"), std::string::npos);
  EXPECT_NE(error_of("streams:\n  a: { source: publisher }\n  a: { source: publisher }\n").find("duplicate stream id 'a'"),
            std::string::npos);
  EXPECT_NE(error_of("streams:\n  a: { source: publisher, rtsp_transport: sctp }\n").find("'streams.a.rtsp_transport' must be one of: auto, udp, tcp"),
            std::string::npos);
  EXPECT_NE(error_of("streams:\n  a: { source: publisher, colour: red }\n").find("unknown key 'colour' in 'streams.a'"),
            std::string::npos);
}

// Route names and option-like or hidden names are refused at their file:line with the message every other place
// that creates a stream uses (media::check_stream_id).
TEST(Config, ReservedAndInvalidStreamIdsAreRefusedWithFileLineAndTheCommonMessage) {
  for (std::string id : {"api", "API", "metrics", "healthz", "readyz", "assets", "ws", "Ws", "-rf", ".hidden"}) {
    auto e = error_of("workers: 1\nstreams:\n  ok: { source: publisher }\n  '" + id + "': { source: publisher }\n");
    EXPECT_EQ(e, "test.yaml:4: " + media::check_stream_id(id).error()) << id;
  }
  EXPECT_TRUE(parse_config("streams:\n  api2: { source: publisher }\n  cam-1.x: { source: publisher }\n", "t.yaml"));
}

TEST(Config, YamlSyntaxErrorHasLine) {
  auto e = error_of("workers: 1\nserver:\n  http: [unclosed\n");
  EXPECT_EQ(e.rfind("test.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find(':', 10), std::string::npos);
}

TEST(Config, MissingFileIsAnError) {
  auto r = load_config("/nonexistent/streamgate.yaml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("/nonexistent/streamgate.yaml: cannot open"), std::string::npos);
}

TEST(Config, LoadsFromFileWithItsNameInErrors) {
  std::string path = ::testing::TempDir() + "sg_config_test.yaml";
  {
    std::ofstream f(path);
    f << "workers: 2\nlog:\n  levl: info\n";
  }
  auto r = load_config(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().rfind(path + ":3: unknown key 'levl' in 'log'", 0), 0u) << r.error();
}

TEST(Endpoint, ParsesForms) {
  auto a = parse_endpoint(":8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 8080);
  auto b = parse_endpoint("[::]:554");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::");
  EXPECT_EQ(b->to_string(), "[::]:554");
  EXPECT_FALSE(parse_endpoint("host"));
  EXPECT_FALSE(parse_endpoint("host:"));
  EXPECT_FALSE(parse_endpoint("host:abc"));
  EXPECT_FALSE(parse_endpoint("[::1]8080"));
}

TEST(Config, HlsDefaultsAreLowLatencyTwoSecondSegments) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->hls.variant, "lowLatency");
  EXPECT_EQ(c->hls.segment_duration_ms, 2000);
  EXPECT_EQ(c->hls.part_duration_ms, 200);
  EXPECT_EQ(c->hls.segment_count, 7u);
  EXPECT_TRUE(c->hls.directory.empty());
}

TEST(Config, HlsParsesEveryKey) {
  auto c = parse_config("hls:\n  variant: fmp4\n  segment_duration: 1.5s\n  part_duration: 250ms\n"
                        "  segment_count: 5\n  directory: /tmp/hls\n",
                        "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->hls.variant, "fmp4");
  EXPECT_EQ(c->hls.segment_duration_ms, 1500);
  EXPECT_EQ(c->hls.part_duration_ms, 250);
  EXPECT_EQ(c->hls.segment_count, 5u);
  EXPECT_EQ(c->hls.directory, "/tmp/hls");
  auto plain = parse_config("hls: { variant: mpegts, segment_duration: 4 }\n", "test.yaml");
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(plain->hls.variant, "mpegts");
  EXPECT_EQ(plain->hls.segment_duration_ms, 4000);
}

TEST(Config, HlsErrorsNameTheKey) {
  EXPECT_NE(error_of("hls:\n  variant: dash\n").find("test.yaml:2: 'hls.variant' must be one of: mpegts, fmp4, lowLatency"),
            std::string::npos);
  EXPECT_NE(error_of("hls:\n  segment_duraton: 2s\n").find("test.yaml:2: unknown key 'segment_duraton' in 'hls'"),
            std::string::npos);
  EXPECT_NE(error_of("hls: { segment_duration: fast }\n").find("'hls.segment_duration' must be a duration"),
            std::string::npos);
  EXPECT_NE(error_of("hls: { segment_duration: 2h }\n").find("'hls.segment_duration' must be a duration"),
            std::string::npos);
  EXPECT_NE(error_of("hls: { part_duration: 10ms }\n").find("'hls.part_duration' must be between 50ms"),
            std::string::npos);
  EXPECT_NE(error_of("hls: { segment_count: 1 }\n").find("'hls.segment_count' must be between 3"), std::string::npos);
  EXPECT_NE(error_of("hls: { segment_duration: 1s, part_duration: 2s }\n").find("must not exceed"), std::string::npos);
  EXPECT_NE(error_of("hls: [1]\n").find("'hls' must be a mapping"), std::string::npos);
}

TEST(Config, WebRtcSectionSetsCandidateHosts) {
  auto c = parse_config("webrtc:\n  additional_hosts: [203.0.113.7, \"2001:db8::1\"]\n  interface_discovery: false\n",
                        "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->webrtc.additional_hosts, (std::vector<std::string>{"203.0.113.7", "2001:db8::1"}));
  EXPECT_FALSE(c->webrtc.interface_discovery);
  auto d = parse_config("", "test.yaml");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->webrtc.interface_discovery);
  EXPECT_TRUE(d->webrtc.additional_hosts.empty());
}

TEST(Config, WebRtcSectionRejectsBadHostsAndKeys) {
  EXPECT_NE(error_of("webrtc:\n  additional_hosts: [example.com]\n").find("test.yaml:2: 'webrtc.additional_hosts' entry 'example.com' is not an IP address"),
            std::string::npos)
      << error_of("webrtc:\n  additional_hosts: [example.com]\n");
  EXPECT_NE(error_of("webrtc:\n  additional_hosts: 1.2.3.4\n").find("must be a list"), std::string::npos);
  EXPECT_NE(error_of("webrtc:\n  hosts: []\n").find("unknown key 'hosts'"), std::string::npos);
}

TEST(Config, TlsIsOffByDefault) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(c->tls.enabled());
  EXPECT_EQ(c->https.port, 8443);
  EXPECT_EQ(c->rtsps.port, 8322);
  EXPECT_EQ(c->tls.reload_interval_ms, 10000);
}

TEST(Config, TlsSectionSetsFilesListenersAndReloadInterval) {
  auto c = parse_config(R"(
server:
  https: 127.0.0.1:9443
  rtsps: "[::1]:9322"
tls:
  cert: /etc/streamgate/cert.pem
  key: /etc/streamgate/key.pem
  reload_interval: 500ms
)",
                        "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_TRUE(c->tls.enabled());
  EXPECT_EQ(c->tls.cert, "/etc/streamgate/cert.pem");
  EXPECT_EQ(c->tls.key, "/etc/streamgate/key.pem");
  EXPECT_EQ(c->tls.reload_interval_ms, 500);
  EXPECT_EQ(c->https.host, "127.0.0.1");
  EXPECT_EQ(c->https.port, 9443);
  EXPECT_EQ(c->rtsps.host, "::1");
  EXPECT_EQ(c->rtsps.port, 9322);
}

TEST(Config, TlsReloadIntervalZeroDisablesReload) {
  auto c = parse_config("tls: { cert: c.pem, key: k.pem, reload_interval: 0 }\n", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->tls.reload_interval_ms, 0);
}

TEST(Config, TlsErrorsNameFileLineAndKey) {
  EXPECT_NE(error_of("tls:\n  cert: c.pem\n").find("test.yaml:2: 'tls' needs both 'cert' and 'key'"), std::string::npos)
      << error_of("tls:\n  cert: c.pem\n");
  EXPECT_NE(error_of("tls:\n  key: k.pem\n").find("needs both 'cert' and 'key'"), std::string::npos);
  EXPECT_NE(
      error_of("tls:\n  cert: c.pem\n  key: k.pem\n  chain: x.pem\n").find("test.yaml:4: unknown key 'chain' in 'tls'"),
      std::string::npos);
  EXPECT_NE(error_of("tls: { cert: c.pem, key: k.pem, reload_interval: soon }\n")
                .find("'tls.reload_interval' must be a duration"),
            std::string::npos);
  EXPECT_NE(error_of("tls: { cert: [a], key: k.pem }\n").find("'tls.cert' must be a string"), std::string::npos);
  EXPECT_NE(
      error_of("server:\n  https: 0.0.0.0:8443\n").find("test.yaml:2: 'server.https' needs 'tls.cert' and 'tls.key'"),
      std::string::npos)
      << error_of("server:\n  https: 0.0.0.0:8443\n");
  EXPECT_NE(error_of("server:\n  rtsps: 0.0.0.0:8322\n").find("'server.rtsps' needs 'tls.cert'"), std::string::npos);
  EXPECT_NE(error_of("tls: { cert: c.pem, key: k.pem }\nserver:\n  https: 0.0.0.0:99999\n")
                .find("test.yaml:3: 'server.https': bad port"),
            std::string::npos);
}

TEST(Config, RequestTimeoutDefaultsToTenSecondsForHttpAndRtsp) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->request_timeout_ms, 10000);
  EXPECT_EQ(c->rtsp_options.request_timeout_ms, 10000);
  auto d = parse_config("server: { request_timeout: 1500ms }\n", "test.yaml");
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->request_timeout_ms, 1500);
  EXPECT_EQ(d->rtsp_options.request_timeout_ms, 1500);
  EXPECT_NE(error_of("server:\n  request_timeout: 1ms\n").find("test.yaml:2: 'server.request_timeout' must be between 500ms"),
            std::string::npos);
}

TEST(Config, ReaderAndPublisherTimeoutsDefaultToTenSecondsAndTakeDurations) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->reader_timeout_ms, 10000);
  EXPECT_EQ(c->rtsp_options.reader_timeout_ms, 10000);
  EXPECT_EQ(c->publisher_timeout_ms, 10000);
  auto d = parse_config("reader_timeout: 2500ms\npublisher_timeout: 3\n", "test.yaml");
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->reader_timeout_ms, 2500);
  EXPECT_EQ(d->rtsp_options.reader_timeout_ms, 2500);
  EXPECT_EQ(d->publisher_timeout_ms, 3000);
  EXPECT_NE(error_of("log: { level: info }\nreader_timeout: 0s\n")
                .find("test.yaml:2: 'reader_timeout' must be between 500ms"),
            std::string::npos);
  EXPECT_NE(error_of("publisher_timeout: soon\n").find("test.yaml:1: 'publisher_timeout' must be a duration"),
            std::string::npos);
}

TEST(Config, MaxStreamsLimitsConfiguredStreamsToo) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->max_streams, 1000u);
  EXPECT_NE(error_of("limits: { max_streams: 1 }\nstreams:\n  a: { source: publisher }\n  b: { source: publisher }\n")
                .find("test.yaml:4: more streams than limits.max_streams (1)"),
            std::string::npos);
  EXPECT_NE(error_of("limits: { max_streams: 0 }\n").find("'limits.max_streams' must be between 1"), std::string::npos);
  EXPECT_NE(error_of("limits: { streams: 3 }\n").find("unknown key 'streams' in 'limits'"), std::string::npos);
}

}  // namespace
}  // namespace sg::app

namespace sg::app {
namespace {

TEST(Config, AuthDefaultsOpenMediaAndLocalhostApi) {
  auto c = parse_config("", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->auth.method, "internal");
  EXPECT_FALSE(c->api.allow_exec);
  auth::InternalPolicy policy(c->auth.users);
  auto local = *auth::IpAddress::parse("127.0.0.1");
  auto remote = *auth::IpAddress::parse("203.0.113.9");
  EXPECT_TRUE(policy.allows_anonymous(auth::Action::Read, "cam", remote));
  EXPECT_TRUE(policy.allows_anonymous(auth::Action::Publish, "cam", remote));
  EXPECT_TRUE(policy.allows_anonymous(auth::Action::ApiWrite, "", local));
  EXPECT_FALSE(policy.allows_anonymous(auth::Action::ApiRead, "", remote));
  EXPECT_FALSE(policy.allows_anonymous(auth::Action::Metrics, "", remote));
}

TEST(Config, AuthSectionParsesUsersPermissionsAndMethods) {
  auto c = parse_config(R"(auth:
  method: jwt
  jwt_jwks: http://127.0.0.1:9/jwks.json
  jwt_claim_key: perms
  internal_users:
    - user: viewer
      pass: "sha256:K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols="
      ips: [10.0.0.0/8, "fd00::/8"]
      permissions: [read, {action: publish, path: "~^cam[0-9]+$"}]
api: { allow_exec: true, allowed_sources: ["~rtsp://10\\..*"] }
server: { allowed_hosts: [Streamgate.Example], cors_origins: ["https://a.example"] }
)", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->auth.method, "jwt");
  EXPECT_EQ(c->auth.jwt_claim_key, "perms");
  ASSERT_EQ(c->auth.users.size(), 1u);
  EXPECT_EQ(c->auth.users[0].ips.size(), 2u);
  EXPECT_EQ(c->auth.users[0].permissions.size(), 2u);
  EXPECT_TRUE(c->api.allow_exec);
  EXPECT_EQ(c->http_policy.allowed_hosts, std::vector<std::string>{"streamgate.example"});
  EXPECT_EQ(c->http_policy.cors_origins, std::vector<std::string>{"https://a.example"});
}

TEST(Config, AuthErrorsNameFileLineAndWhat) {
  EXPECT_NE(error_of("auth:\n  internal_users:\n    - user: a\n      permissions: [fly]\n").find("test.yaml:4:"),
            std::string::npos);
  EXPECT_NE(error_of("auth:\n  internal_users:\n    - user: a\n      permissions: [{action: read, path: \"~([\"}]\n")
                .find("test.yaml:4:"),
            std::string::npos);
  EXPECT_NE(error_of("auth:\n  internal_users:\n    - user: a\n      ips: [10.0.0.0/33]\n").find("test.yaml:4:"),
            std::string::npos);
  EXPECT_NE(error_of("auth:\n  internal_users:\n    - user: a\n      pass: \"sha256:nope\"\n").find("test.yaml:4:"),
            std::string::npos);
  EXPECT_NE(error_of("auth:\n  method: http\n").find("http_address"), std::string::npos);
  EXPECT_NE(error_of("auth:\n  method: jwt\n  jwt_jwks: ftp://x\n").find("test.yaml:3:"), std::string::npos);
  EXPECT_NE(error_of("auth:\n  methd: http\n").find("unknown key 'methd'"), std::string::npos);
  EXPECT_NE(error_of("api:\n  allow_exec: maybe\n").find("test.yaml:2:"), std::string::npos);
}

TEST(Config, LegacyRtspCredentialsBecomeInternalUsers) {
  auto c = parse_config("rtsp:\n  read_auth: { user: viewer, pass: v }\n", "test.yaml");
  ASSERT_TRUE(c) << c.error();
  auth::InternalPolicy policy(c->auth.users);
  auto remote = *auth::IpAddress::parse("203.0.113.9");
  EXPECT_FALSE(policy.allows_anonymous(auth::Action::Read, "cam", remote));
  EXPECT_TRUE(policy.allows_anonymous(auth::Action::Publish, "cam", remote));
  auth::AccessRequest r;
  r.ip = remote;
  r.action = auth::Action::Read;
  r.path = "cam";
  r.credentials.user = "viewer";
  r.credentials.password = "v";
  EXPECT_TRUE(policy.evaluate(r).allowed());
}

}  // namespace
}  // namespace sg::app
