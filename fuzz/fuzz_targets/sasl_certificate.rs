//! tls-server-end-point on arbitrary certificate bytes (the DER walk): never panics; a binding
//! made is the certificate's hash.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sasl::fuzzing::certificate(data);
});
