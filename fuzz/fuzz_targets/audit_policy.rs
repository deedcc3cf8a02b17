//! An audit policy file (YAML or JSON) of arbitrary bytes: read, validated and linted as the
//! API server would load it, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let file = auditlens_core::policy::read_bytes(data);
    let _ = auditlens_core::policy::check(&file);
    let _ = file.loads();
});
