//! The configuration the LVS task keeps while it runs: the loaded model less what only the
//! loader and the checkers read, so that with 10,000 real servers the task does not hold
//! their source places and checker details for nothing (`kad -C` memory, issue 14).

use crate::config::Config;

/// Drops from `config` what the LVS task never reads: the source places of virtual and
/// real servers (the loader reported from them already) and each real server's checkers
/// but the first, itself without its URLs and other words. The task reads of a real
/// server's checkers only whether there is one (keepalived.conf: a real server without a
/// checker is always up), which stays as it was.
pub fn keep_what_lvs_reads(mut config: Config) -> Config {
    for vs in &mut config.virtual_servers {
        vs.places.clear();
        for rs in &mut vs.real_servers {
            rs.places.clear();
            rs.checkers.truncate(1);
            rs.checkers.shrink_to_fit();
            for checker in &mut rs.checkers {
                checker.urls = Vec::new();
                checker.other.clear();
            }
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        config::{LoadOptions, parse_str},
        lvs::table::{Health, QuorumMemory, wanted},
    };

    const TEXT: &str = "virtual_server 10.0.0.1 80 {\n protocol TCP\n alpha\n \
        real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n HTTP_GET {\n url {\n path /\n status_code 200\n }\n }\n }\n \
        real_server 10.0.0.3 80 {\n weight 2\n }\n}\n";

    #[test]
    fn the_lvs_task_builds_the_same_table_from_what_it_keeps() {
        let full = parse_str(TEXT, &LoadOptions::with_config_id("t")).config;
        let kept = keep_what_lvs_reads(full.clone());
        let servers = &kept.virtual_servers[0].real_servers;
        assert_eq!(full.virtual_servers[0].real_servers[0].checkers.len(), 2);
        assert_eq!(servers[0].checkers.len(), 1);
        assert!(servers[0].checkers[0].urls.is_empty());
        assert!(servers[0].places.is_empty());
        assert!(servers[1].checkers.is_empty());
        let health = Health::default();
        assert_eq!(
            wanted(&kept, &health, &mut QuorumMemory::default()),
            wanted(&full, &health, &mut QuorumMemory::default())
        );
    }
}
