//! Generates the Rust types and the gRPC client/server of `tapwatch/v1/sensor.proto` with protox
//! (a pure-Rust protobuf compiler), so building needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "tapwatch/v1/sensor.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["."])?;
    tonic_prost_build::configure()
        // Map fields as BTreeMap: entries go on the wire sorted by key, the same for every
        // message, which zstd compresses far better than a hash map's per-instance order
        // (alert metadata: 49 to 36 bytes per varied alert), and tests compare them directly.
        .btree_map(".")
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
