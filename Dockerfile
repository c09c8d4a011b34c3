# The canvass binary with its runtime: FFmpeg libraries, ONNX Runtime and the model files.
# Build from a checkout after `scripts/setup` (it puts the models and the ONNX Runtime library
# under assets/, checked against their checksums):
#   scripts/setup && docker build -t canvass .
# The chart (helm/canvass) runs this image as `canvass detect`, `canvass ingest`, `canvass serve`.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang libclang-dev pkg-config libssl-dev make \
      libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p canvass \
 && cp target/release/canvass /usr/local/bin/canvass

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
      libavcodec59 libavformat59 libavutil57 libswscale6 libavfilter8 libavdevice59 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin canvass
COPY --from=build /usr/local/bin/canvass /usr/local/bin/canvass
COPY assets/lib/ /opt/canvass/lib/
COPY assets/models/ /opt/canvass/models/
COPY models/ /opt/canvass/manifests/
ENV ORT_DYLIB_PATH=/opt/canvass/lib/libonnxruntime.so \
    CANVASS_MANIFESTS_DIR=/opt/canvass/manifests \
    CANVASS_MODELS_DIR=/opt/canvass/models
USER 10001
ENTRYPOINT ["/usr/local/bin/canvass"]
CMD ["--help"]
