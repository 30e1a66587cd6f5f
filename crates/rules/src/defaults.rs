include!(concat!(env!("OUT_DIR"), "/default_rules.rs"));
