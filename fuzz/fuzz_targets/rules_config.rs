//! A rules configuration (TOML or JSON) of arbitrary text: read or refused, never a panic; a
//! configuration that reads writes back to JSON that reads the same.
#![no_main]

use auditlens_core::rules::RuleConfig;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = RuleConfig::parse(text) {
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(RuleConfig::parse(&json).unwrap(), config);
    }
});
