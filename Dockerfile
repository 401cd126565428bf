# streamgate container image: `podman build -t streamgate/streamgate:0.1.0 .` (or docker build).
# The build stage compiles the server alone and packages it as the .deb (Depends computed by dpkg-shlibdeps);
# the run stage installs that .deb on bookworm-slim, so the image holds what the binary needs and nothing more,
# plus libavcodec/libswresample (the .deb's Recommends) so AAC cameras still get Opus in browsers.
# Needs web/node_modules (scripts/setup.sh runs npm install there): hls.js is embedded at build time.
# The toolchain and libraries alone in their own stage: `--target toolchain` fetches them (network and disk, no
# compile) ahead of the build, which then starts from that cached layer (scripts/test.sh does so while it compiles).
FROM debian:bookworm AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake ninja-build pkg-config file dpkg-dev \
      libboost1.81-dev libssl-dev libyaml-cpp-dev libspdlog-dev libfmt-dev \
      libavcodec-dev libavutil-dev libswresample-dev libopus-dev libsrtp2-dev libsrt-openssl-dev libhiredis-dev libgcrypt20-dev liburing-dev \
 && rm -rf /var/lib/apt/lists/*

FROM toolchain AS build
WORKDIR /src
# The sources first and the docs after the compile, so that editing a document does not rebuild the server.
# The release preset's -O2 without -g: the package strips the binary, and debug info doubles the compile time.
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY web web
COPY src src
COPY packaging packaging
RUN test -f web/node_modules/hls.js/dist/hls.min.js \
 && cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
      -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DSG_TESTS=OFF -DSG_BENCH=OFF >/dev/null \
 && cmake --build /build --target streamgate
COPY README.md SECURITY.md ./
COPY deploy/README.md deploy/README.md
RUN cd /build && cpack -G DEB >/dev/null && mv streamgate_*.deb /streamgate.deb

FROM debian:bookworm-slim
LABEL org.opencontainers.image.ref.name="streamgate/streamgate" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.title="streamgate" \
      org.opencontainers.image.description="RTSP / WebRTC / HLS media server"
COPY --from=build /streamgate.deb /tmp/streamgate.deb
# The .deb's computed Depends plus its Recommends (libavcodec, libswresample), without their own recommends.
RUN apt-get update \
 && apt-get install -y --no-install-recommends /tmp/streamgate.deb \
      $(dpkg-deb -f /tmp/streamgate.deb Recommends | tr -d ,) \
 && rm -rf /var/lib/apt/lists/* /tmp/streamgate.deb \
 && groupadd --system --gid 10001 streamgate \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin streamgate
USER 10001:10001
WORKDIR /tmp
# HTTP (API, WHEP, HLS, pages, metrics), RTSP, WebRTC media, HTTPS.
EXPOSE 8080 8554 8189/udp 8443
# SIGTERM drains sessions and exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/bin/streamgate", "--probe", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/bin/streamgate"]
CMD ["--config", "/etc/streamgate/streamgate.yaml"]
