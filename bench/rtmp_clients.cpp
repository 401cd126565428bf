// rtmp_clients: N concurrent RTMP publishers or players, for ingest and fan-out load tests of any RTMP server
// (streamgate, MediaMTX, nginx-rtmp, SRS).
//
//   rtmp_clients --url rtmp://host:port/app/name --mode publish|play --clients N --duration SECONDS
//                [--fps F] [--ramp-ms 5] [--threads T] [--timeout SECONDS] [--json]
//
// publish: client i publishes to `<name><i>` (with N = 1: the name itself): handshake, connect, createStream,
// publish, then the 30 pictures of bench/h264_clip.hpp (320x240) looped as FLV AVC tags at F fps (an AVC sequence
// header first; every 30th picture is the IDR), until the end. play: every client plays `<name>` and counts the
// audio/video messages and bytes it receives; a client that received fewer than 10 media messages has failed.
//
// Exit status: 0 when every client got its publish/play started (and, playing, media), 1 otherwise, 2 on bad
// arguments. Hot path (publish): the tag bodies of the GOP are built once and shared; each client writes a
// frame's chunks from its own buffer.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "h264_clip.hpp"
#include "codec/h264.hpp"
#include "rtmp/chunk.hpp"
#include "rtmp/command.hpp"
#include "rtmp/flv.hpp"
#include "rtmp/handshake.hpp"
#include "tool_support.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using sg::Bytes;
using sg::ByteVector;
using sg::rtmp::Amf0Value;

namespace {

struct Config {
  std::string url_text, host, app, name;
  uint16_t port = 1935;
  bool publish = true;
  size_t clients = 1;
  double duration_s = 10;
  int fps = 30;
  double ramp_ms = 5;
  size_t threads = 2;
  double timeout_s = 10;
  bool json = false;
  tcp::endpoint server;
  Clock::time_point end;
};

struct Result {
  bool started = false;
  uint64_t messages = 0, bytes = 0;
  double seconds = 0;
  std::string error;
};

// The clip as FLV video tag bodies: [0] the AVC sequence header, then one per picture.
std::vector<ByteVector> build_tags() {
  namespace clip = sg::bench::h264_clip;
  std::vector<ByteVector> tags;
  Bytes sps(reinterpret_cast<const std::byte*>(clip::kSps), sizeof clip::kSps);
  Bytes pps(reinterpret_cast<const std::byte*>(clip::kPps), sizeof clip::kPps);
  auto avcc = sg::codec::h264::build_avcc({sps}, {pps});
  ByteVector header = sg::rtmp::video_tag_header(sg::rtmp::VideoCodec::H264, sg::rtmp::VideoPacket::SequenceHeader, true, 0);
  if (avcc) sg::append(header, *avcc);
  tags.push_back(std::move(header));
  for (size_t i = 0; i < clip::kFrameCount; ++i) {
    ByteVector t = sg::rtmp::video_tag_header(sg::rtmp::VideoCodec::H264, sg::rtmp::VideoPacket::CodedFrames, i == 0, 0);
    Bytes frame(reinterpret_cast<const std::byte*>(clip::kFrameData) + clip::kFrameOffset[i],
                clip::kFrameOffset[i + 1] - clip::kFrameOffset[i]);
    sg::append32(t, static_cast<uint32_t>(frame.size()));  // one slice NAL unit per picture
    sg::append(t, frame);
    tags.push_back(std::move(t));
  }
  return tags;
}

class Client {
 public:
  Client(const Config& cfg, const std::vector<ByteVector>& tags, size_t index, Result& result, asio::io_context& io)
      : cfg_(cfg), tags_(tags), index_(index), result_(result), socket_(io) {}

  asio::awaitable<void> run(Clock::time_point start_at) {
    asio::steady_timer t(socket_.get_executor(), start_at);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    auto t0 = Clock::now();
    std::string error = co_await session();
    result_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!error.empty() && result_.error.empty()) result_.error = error;
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  asio::awaitable<std::string> session() {
    auto [cec] = co_await socket_.async_connect(cfg_.server, asio::as_tuple(asio::use_awaitable));
    if (cec) co_return "connect: " + cec.message();
    ByteVector random(sg::rtmp::kHandshakeSize - 8, std::byte{0x11});
    if (!co_await write(sg::rtmp::client_handshake(random))) co_return "handshake write";
    ByteVector s(1 + 2 * sg::rtmp::kHandshakeSize);
    auto [rec, rn] = co_await asio::async_read(socket_, asio::buffer(s), asio::as_tuple(asio::use_awaitable));
    if (rec) co_return "handshake: " + rec.message();
    if (!co_await write(Bytes(s).subspan(1, sg::rtmp::kHandshakeSize))) co_return "handshake write";
    out_.clear();
    sg::rtmp::write_message(out_, {2, 0, 1, 0, sg::rtmp::u32_payload(60000)}, chunk_size_);
    chunk_size_ = 60000;
    command("connect", 1, Amf0Value::make_object({{"app", Amf0Value::make_string(cfg_.app)},
                                                  {"tcUrl", Amf0Value::make_string(cfg_.url_text)}}));
    command("createStream", 2, Amf0Value::make_null());
    const std::string name = cfg_.publish && cfg_.clients > 1 ? cfg_.name + std::to_string(index_) : cfg_.name;
    command(cfg_.publish ? "publish" : "play", 3, Amf0Value::make_null(),
            {Amf0Value::make_string(name), cfg_.publish ? Amf0Value::make_string("live") : Amf0Value::make_number(-1000)},
            1);
    if (!co_await write(out_)) co_return "write";
    // Until onStatus ...Start (or an error).
    const std::string want = cfg_.publish ? "NetStream.Publish.Start" : "NetStream.Play.Start";
    auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(cfg_.timeout_s * 1000));
    while (!result_.started) {
      if (Clock::now() > deadline) co_return "no " + want;
      std::string e = co_await read_some();
      if (!e.empty()) co_return e;
      if (!status_.empty() && status_ != want) co_return "onStatus " + status_;
    }
    if (cfg_.publish) co_return co_await publish_loop();
    while (Clock::now() < cfg_.end) {
      std::string e = co_await read_some();
      if (!e.empty()) co_return e;
    }
    if (result_.messages < 10) co_return "fewer than 10 media messages";
    co_return "";
  }

  asio::awaitable<std::string> publish_loop() {
    const auto frame = std::chrono::microseconds(1'000'000 / cfg_.fps);
    auto next = Clock::now();
    out_.clear();
    sg::rtmp::write_message(out_, {6, 0, 9, 1, tags_[0]}, chunk_size_);
    for (uint64_t i = 0; Clock::now() < cfg_.end; ++i) {
      const ByteVector& tag = tags_[1 + i % (tags_.size() - 1)];
      sg::rtmp::write_message(out_, {6, static_cast<uint32_t>(i * 1000 / cfg_.fps), 9, 1, tag}, chunk_size_);
      if (!co_await write(out_)) co_return "write";
      result_.messages++;
      result_.bytes += tag.size();
      out_.clear();
      next += frame;
      asio::steady_timer t(socket_.get_executor(), next);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return "";
  }

  void command(std::string_view name, double txn, const Amf0Value& object, const std::vector<Amf0Value>& args = {},
               uint32_t stream_id = 0) {
    auto payload = sg::rtmp::encode_command(name, txn, object, args);
    sg::rtmp::write_message(out_, {3, 0, 20, stream_id, payload}, chunk_size_);
  }

  asio::awaitable<bool> write(Bytes data) {
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(data.data(), data.size()),
                                              asio::as_tuple(asio::use_awaitable));
    co_return !ec;
  }

  asio::awaitable<std::string> read_some() {
    if (in_.size() - used_ < 65536) in_.resize(used_ + 65536);
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(in_.data() + used_, in_.size() - used_),
                                                     asio::as_tuple(asio::use_awaitable));
    if (ec) co_return "read: " + ec.message();
    used_ += n;
    auto consumed = reader_.read(Bytes(in_.data(), used_), [&](const sg::rtmp::Message& m) {
      if (m.type == 8 || m.type == 9) {
        result_.messages++;
        result_.bytes += m.payload.size();
      } else if (m.type == 20) {
        auto c = sg::rtmp::parse_command(m.payload);
        if (c && c->name == "onStatus" && !c->args.empty()) {
          status_ = std::string(c->args[0].get_string("code").value_or(""));
          if (status_ == "NetStream.Publish.Start" || status_ == "NetStream.Play.Start") result_.started = true;
        }
      }
    });
    if (!consumed) co_return consumed.error();
    std::memmove(in_.data(), in_.data() + *consumed, used_ - *consumed);
    used_ -= *consumed;
    co_return "";
  }

  const Config& cfg_;
  const std::vector<ByteVector>& tags_;
  size_t index_;
  Result& result_;
  tcp::socket socket_;
  uint32_t chunk_size_ = sg::rtmp::kDefaultChunkSize;
  ByteVector out_, in_;
  size_t used_ = 0;
  sg::rtmp::ChunkReader reader_;
  std::string status_;
};

void usage() {
  std::fprintf(stderr,
               "usage: rtmp_clients --url rtmp://host:port/app/name --mode publish|play --clients N --duration S\n"
               "                    [--fps F] [--ramp-ms MS] [--threads T] [--timeout S] [--json]\n");
}

}  // namespace

int main(int argc, char** argv) {
  sg::bench::raise_file_limit();
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    try {
      if (a == "--url") cfg.url_text = value();
      else if (a == "--mode") cfg.publish = value() == "publish";
      else if (a == "--clients") cfg.clients = std::stoul(value());
      else if (a == "--duration") cfg.duration_s = std::stod(value());
      else if (a == "--fps") cfg.fps = std::stoi(value());
      else if (a == "--ramp-ms") cfg.ramp_ms = std::stod(value());
      else if (a == "--threads") cfg.threads = std::stoul(value());
      else if (a == "--timeout") cfg.timeout_s = std::stod(value());
      else if (a == "--json") cfg.json = true;
      else {
        usage();
        return 2;
      }
    } catch (const std::exception&) {
      usage();
      return 2;
    }
  }
  // rtmp://host[:port]/app/name
  const std::string prefix = "rtmp://";
  if (cfg.url_text.rfind(prefix, 0) != 0 || cfg.clients == 0 || cfg.fps < 1 || cfg.threads == 0) {
    usage();
    return 2;
  }
  std::string rest = cfg.url_text.substr(prefix.size());
  auto slash = rest.find('/');
  auto last = rest.rfind('/');
  if (slash == std::string::npos || last == slash) {
    std::fprintf(stderr, "the URL needs an app and a name: rtmp://host:port/app/name\n");
    return 2;
  }
  std::string hostport = rest.substr(0, slash);
  cfg.app = rest.substr(slash + 1, last - slash - 1);
  cfg.name = rest.substr(last + 1);
  auto colon = hostport.rfind(':');
  cfg.host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
  if (colon != std::string::npos) cfg.port = static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)));
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto results = resolver.resolve(cfg.host, std::to_string(cfg.port), ec);
    if (ec || results.empty()) {
      std::fprintf(stderr, "cannot resolve %s\n", cfg.host.c_str());
      return 2;
    }
    cfg.server = results.begin()->endpoint();
  }
  const auto tags = build_tags();
  cfg.threads = std::min(cfg.threads, cfg.clients);
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (size_t i = 0; i < cfg.threads; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  std::vector<Result> results(cfg.clients);
  std::vector<std::unique_ptr<Client>> clients;
  const auto start = Clock::now();
  const auto ramp = std::chrono::microseconds(static_cast<int64_t>(cfg.ramp_ms * 1000));
  cfg.end = start + ramp * static_cast<int64_t>(cfg.clients) +
            std::chrono::milliseconds(static_cast<int64_t>(cfg.duration_s * 1000));
  for (size_t i = 0; i < cfg.clients; ++i) {
    auto& io = *contexts[i % cfg.threads];
    clients.push_back(std::make_unique<Client>(cfg, tags, i, results[i], io));
    asio::co_spawn(io, clients.back()->run(start + ramp * static_cast<int64_t>(i)), asio::detached);
  }
  std::vector<std::thread> threads;
  for (size_t i = 1; i < cfg.threads; ++i) threads.emplace_back([&, i] { contexts[i]->run(); });
  contexts[0]->run();
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  size_t started = 0, failed = 0;
  uint64_t messages = 0, bytes = 0;
  std::vector<double> kbps;
  std::map<std::string, size_t> errors;
  for (auto& r : results) {
    started += r.started;
    failed += !r.error.empty();
    messages += r.messages;
    bytes += r.bytes;
    kbps.push_back(r.seconds > 0 ? static_cast<double>(r.bytes) * 8 / 1000 / r.seconds : 0);
    if (!r.error.empty()) ++errors[r.error];
  }
  const bool ok = started == cfg.clients && failed == 0;
  if (cfg.json) {
    std::printf("{\"url\":\"%s\",\"mode\":\"%s\",\"clients\":%zu,\"started\":%zu,\"failed\":%zu,\"messages\":%llu,"
                "\"bytes\":%llu,\"kbps\":{\"min\":%.1f,\"median\":%.1f,\"max\":%.1f},\"seconds\":%.3f,\"errors\":{",
                sg::bench::json_escape(cfg.url_text).c_str(), cfg.publish ? "publish" : "play", cfg.clients, started,
                failed, static_cast<unsigned long long>(messages), static_cast<unsigned long long>(bytes),
                sg::bench::percentile(kbps, 0), sg::bench::percentile(kbps, 0.5), sg::bench::percentile(kbps, 1),
                wall);
    bool first = true;
    for (auto& [e, n] : errors) {
      std::printf("%s\"%s\":%zu", first ? "" : ",", sg::bench::json_escape(e).c_str(), n);
      first = false;
    }
    std::printf("}}\n");
  } else {
    std::printf("%s %s x%zu: %zu started, %zu failed, %llu media messages, %llu bytes, %.1f s\n",
                cfg.publish ? "publish" : "play", cfg.url_text.c_str(), cfg.clients, started, failed,
                static_cast<unsigned long long>(messages), static_cast<unsigned long long>(bytes), wall);
    for (auto& [e, n] : errors) std::printf("error x%zu: %s\n", n, e.c_str());
  }
  return ok ? 0 : 1;
}
