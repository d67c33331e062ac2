//! Hand-written configurations, each with a known mistake, checked by `keepalived -t` and
//! `kad -t` on this machine: same exit status, and every line keepalived flags is flagged
//! by kad. `IFACE` in a case stands for an interface that exists here.
//!
//! Needs keepalived installed and the kad binary built, like config_samples.

use std::{collections::BTreeSet, path::Path, process::Command};

use kad_tests::compat::{kad_lines, keepalived_lines};

/// (case name, configuration).
const CASES: &[(&str, &str)] = &[
    (
        "unknown_keyword",
        "foo bar\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "priority_out_of_range",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n priority 300\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "vrid_out_of_range",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 500\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "duplicate_vrid",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\nvrrp_instance B {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.2\n }\n}\n",
    ),
    (
        "duplicate_instance_name",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 6\n virtual_ipaddress {\n 10.0.0.2\n }\n}\n",
    ),
    (
        "missing_brace",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n",
    ),
    (
        "extra_brace",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n}\n",
    ),
    (
        "mixed_families",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n fe80::1\n }\n}\n",
    ),
    (
        "v2_fractional_advert",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n advert_int 0.5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "advert_out_of_range",
        "vrrp_instance A {\n interface IFACE\n version 3\n virtual_router_id 5\n advert_int 300\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "bad_state",
        "vrrp_instance A {\n interface IFACE\n state FOO\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "state_twice",
        "vrrp_instance A {\n interface IFACE\n state MASTER\n state BACKUP\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "no_vip",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n}\n",
    ),
    (
        "bad_vip",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.300\n }\n}\n",
    ),
    (
        "loopback_interface",
        "vrrp_instance A {\n interface lo\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "missing_interface",
        "vrrp_instance A {\n interface kadnosuch0\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "script_weight_out_of_range",
        "vrrp_script s {\n script /nonexistent/kad\n weight 300\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "unknown_tracked_names",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n track_script {\n nope\n }\n track_file {\n nf\n }\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "sync_group_unknown_member",
        "vrrp_sync_group G {\n group {\n A\n B\n }\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "bad_authentication",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n authentication {\n auth_type FOO\n auth_pass 123456789\n }\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "global_defs_bad_values",
        "global_defs {\n router_id\n vrrp_version 4\n}\n",
    ),
    (
        "unicast_peer_family",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n unicast_peer {\n 10.0.0.2\n fe80::2\n bad\n }\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "nopreempt_with_owner_priority",
        "vrrp_instance A {\n interface IFACE\n state MASTER\n nopreempt\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "preempt_delay_with_master",
        "vrrp_instance A {\n interface IFACE\n state MASTER\n priority 100\n preempt_delay 5\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "auth_with_v3",
        "vrrp_instance A {\n interface IFACE\n version 3\n authentication {\n auth_type PASS\n auth_pass 1\n }\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "strict_with_auth",
        "global_defs {\n vrrp_strict\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n authentication {\n auth_type PASS\n auth_pass 1\n }\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "scripts_without_security",
        "vrrp_script s {\n script /bin/true\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "virtual_server_bad_values",
        "virtual_server 10.0.0.1 80 {\n lb_algo foo\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n connect_timeout x\n }\n }\n}\n",
    ),
    (
        "virtual_server_without_port",
        "virtual_server 10.0.0.1 {\n protocol TCP\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\n",
    ),
    (
        "real_server_family_and_link_local",
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server fe80::2 80 {\n TCP_CHECK {\n }\n }\n}\n",
    ),
    (
        "virtual_server_without_real_servers",
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n}\n",
    ),
    (
        "misc_check_without_path",
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n MISC_CHECK {\n }\n }\n}\n",
    ),
    (
        "real_server_negative_weight",
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n weight -1\n TCP_CHECK {\n }\n }\n}\n",
    ),
    (
        "empty_sync_group",
        "vrrp_sync_group G {\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "track_file_without_file",
        "track_file f {\n weight 5\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "track_process_without_process",
        "vrrp_track_process p {\n weight 5\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "tracked_script_missing",
        "vrrp_script s {\n script /nonexistent/kad/check.sh\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n track_script {\n s\n }\n}\n",
    ),
    (
        "script_own_user_missing",
        "vrrp_script s {\n script /bin/true\n user kadnosuchuser\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n track_script {\n s\n }\n}\n",
    ),
    (
        "global_script_user_missing",
        "global_defs {\n script_user kadnosuchuser\n}\nvrrp_script s {\n script /bin/true\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n track_script {\n s\n }\n}\n",
    ),
    (
        "script_security_without_script_user",
        "global_defs {\n enable_script_security\n}\nvrrp_script s {\n script /bin/true\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n notify_master /bin/true\n virtual_ipaddress {\n 10.0.0.1\n }\n track_script {\n s\n }\n}\n",
    ),
    (
        "script_security_root_scripts",
        "global_defs {\n enable_script_security\n script_user root\n}\nvrrp_script s {\n script true\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n notify_master /nonexistent/kad/notify.sh\n virtual_ipaddress {\n 10.0.0.1\n }\n track_script {\n s\n }\n}\n",
    ),
    (
        "track_process_param_match_and_quorum_bounds",
        "vrrp_track_process p {\n process sleep 1000\n param_match\n quorum 3\n quorum_max 2\n}\nvrrp_track_process q {\n process sleep\n quorum_max 1\n quorum 2\n}\nvrrp_track_process r {\n process sleep\n quorum_max 0\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n track_process {\n p\n q\n r\n }\n}\n",
    ),
    (
        "bfd_without_neighbor",
        "bfd_instance b {\n min_rx 5000\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "static_route_bad_gateway",
        "static_routes {\n 10.1.0.0/16 via 10.0.0.300 dev IFACE\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "includea_matching_nothing",
        "includea /nonexistent/kad/*.conf\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "includem_matching_nothing",
        "includem /nonexistent/kad/x.conf\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "includer_matching_nothing",
        "includer /nonexistent/kad/*.conf\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "include_matching_nothing",
        "include /nonexistent/kad/*.conf\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "keyword_outside_any_block",
        "priority 100\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "unicast_vmac_without_xmit_base",
        "vrrp_instance A {\n interface IFACE\n use_vmac\n virtual_router_id 5\n unicast_peer {\n 10.0.0.9\n }\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "virtual_server_group_bad_entries",
        "virtual_server_group G {\n 10.0.0.1-x 80\n bogus\n}\n",
    ),
    (
        "global_defs_process_priorities",
        "global_defs {\n lvs_flush\n vrrp_priority -50\n vrrp_rt_priority 100\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "virtual_server_without_protocol_scheduler_method",
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\n",
    ),
    (
        "virtual_server_complete",
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\n",
    ),
    (
        "multi_line_definition",
        "$I= \\\nvrrp_instance VI_${N} { \\\n    interface IFACE \\\n    virtual_router_id ${N} \\\n    priority 300 \\\n    virtual_ipaddress { \\\n        10.0.${N}.1 \\\n    } \\\n}\n\n$N=1\n$I\n$N=2\n$I\n",
    ),
    (
        "conditional_and_defines",
        "$P=150\n@kadtest $IF=IFACE\nvrrp_instance A {\n interface ${IF}\n virtual_router_id 5\n @kadtest priority $P\n @^kadtest priority 900\n virtual_ipaddress {\n ~SEQ(N, 1, 3) 10.0.0.${N}\n }\n}\n",
    ),
    (
        "protocol_lower_case",
        "virtual_server 10.0.0.1 80 {\n protocol tcp\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\nvirtual_server 10.0.0.1 53 {\n protocol udp\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 53 {\n TCP_CHECK {\n }\n }\n}\n",
    ),
    (
        "vip_broadcast_plus_minus",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1/24 brd + dev IFACE\n 10.0.0.2/24 broadcast -\n 10.0.0.5 brd +\n 10.0.0.6/31 brd -\n 10.0.0.7/24 brd 10.0.0.255\n }\n}\n",
    ),
    (
        "seq_bounds_as_parameters",
        "$LO=2\n$HI=3\n$STEP=2\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n ~SEQ(N, $LO, $HI) 10.0.0.${N}00\n ~SEQ(M, ${LO}, $STEP, 5) 10.0.1.${M}00\n ~SEQ(K, $HI) 10.0.2.${K}00\n }\n}\n",
    ),
    (
        "max_auto_priority_without_value",
        "global_defs {\n max_auto_priority\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    ),
    (
        "checker_log_all_failures_and_alpha",
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n log_all_failures\n alpha no\n }\n HTTP_GET {\n url {\n path /\n }\n log_all_failures true\n }\n }\n real_server 10.0.0.3 80 {\n TCP_CHECK {\n log_all_failures maybe\n }\n }\n}\n",
    ),
    (
        "nb_get_retry",
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n nb_get_retry 2\n real_server 10.0.0.2 80 {\n nb_get_retry 2\n TCP_CHECK {\n nb_get_retry 3\n }\n HTTP_GET {\n url {\n path /\n }\n nb_get_retry 3\n }\n SSL_GET {\n url {\n path /\n }\n nb_get_retry x\n }\n }\n}\n",
    ),
    (
        "http_protocol_values",
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 80 {\n HTTP_GET {\n http_protocol 1.0C\n url {\n path /\n }\n }\n SSL_GET {\n http_protocol 1.0c\n url {\n path /\n }\n }\n }\n real_server 10.0.0.3 80 {\n HTTP_GET {\n http_protocol 1.1\n url {\n path /\n }\n }\n HTTP_GET {\n http_protocol 2.0\n url {\n path /\n }\n }\n }\n}\n",
    ),
    (
        "tls_compliant_is_unknown_in_2_2_7",
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 80 {\n SSL_GET {\n tls_compliant\n fast_recovery\n url {\n path /\n regex ok\n regex_min_offset 5\n regex_max_offset 9\n tls_compliant\n }\n }\n }\n}\n",
    ),
    (
        "smtp_check_host_blocks",
        "virtual_server 10.0.0.1 25 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 25 {\n SMTP_CHECK {\n helo_name x.test\n host {\n connect_ip 10.0.0.3\n connect_port 2525\n bindto 10.0.0.9\n connect_timeout 3\n retry 2\n bogus 1\n }\n host {\n connect_ip 10.0.0.4\n }\n }\n }\n}\n",
    ),
    (
        "brace_touching_a_name",
        "vrrp_sync_group VG1{\n group {\n A\n }\n}\nvrrp_instance A{\n interface IFACE\n virtual_router_id 5\n priority 300\n virtual_ipaddress{\n 10.0.0.1}\n}\n",
    ),
    (
        "real_and_virtual_server_ports",
        "virtual_server_group G {\n 10.0.0.1 80\n 10.0.0.5-9 81\n fwmark 7\n}\nvirtual_server group G {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n sorry_server 10.0.0.9 90\n}\nvirtual_server fwmark 5 {\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n sorry_server 10.0.0.9 90\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n sorry_server 10.0.0.9 90\n real_server 10.0.0.2 8080 {\n TCP_CHECK {\n }\n }\n real_server 10.0.0.3 {\n TCP_CHECK {\n }\n }\n}\nvirtual_server 10.0.0.1 81 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 8080 {\n TCP_CHECK {\n }\n }\n}\n",
    ),
    (
        "quorum_out_of_reach",
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n quorum 5\n hysteresis 1\n real_server 10.0.0.2 80 {\n weight 2\n TCP_CHECK {\n }\n }\n real_server 10.0.0.3 80 {\n TCP_CHECK {\n }\n }\n}\nvirtual_server 10.0.0.1 81 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n quorum 2\n hysteresis 3\n real_server 10.0.0.2 81 {\n weight 2\n TCP_CHECK {\n }\n }\n}\nvirtual_server 10.0.0.1 82 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 82 {\n weight 0\n TCP_CHECK {\n }\n }\n}\n",
    ),
    (
        "v3_advert_int_in_centiseconds",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 7\n version 3\n advert_int 0.015\n virtual_ipaddress {\n 10.0.0.3\n }\n}\nvrrp_instance B {\n interface IFACE\n virtual_router_id 8\n version 3\n advert_int 1.234\n virtual_ipaddress {\n 10.0.0.4\n }\n}\nvrrp_instance C {\n interface IFACE\n virtual_router_id 9\n version 3\n advert_int 100\n virtual_ipaddress {\n 10.0.0.5\n }\n}\nvrrp_instance D {\n interface IFACE\n virtual_router_id 10\n version 3\n advert_int 0.05\n virtual_ipaddress {\n 10.0.0.6\n }\n}\n",
    ),
    (
        "strict_master_is_the_address_owner",
        "global_defs {\n vrrp_strict\n}\nvrrp_instance A {\n interface IFACE\n state MASTER\n priority 100\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\nvrrp_instance B {\n interface IFACE\n state BACKUP\n priority 255\n virtual_router_id 6\n virtual_ipaddress {\n 10.0.0.2\n }\n}\nvrrp_instance C {\n interface IFACE\n state MASTER\n virtual_router_id 7\n virtual_ipaddress {\n 10.0.0.3\n }\n}\nvrrp_instance D {\n interface IFACE\n priority 255\n virtual_router_id 8\n virtual_ipaddress {\n 10.0.0.4\n }\n}\nvrrp_instance E {\n interface IFACE\n strict_mode off\n state MASTER\n priority 100\n virtual_router_id 9\n virtual_ipaddress {\n 10.0.0.5\n }\n}\n",
    ),
    (
        "mcast_dst_ip_and_unicast_make_vrids_distinct",
        "vrrp_instance A {\n interface IFACE\n virtual_router_id 5\n mcast_dst_ip 224.0.0.19\n virtual_ipaddress {\n 10.0.0.1\n }\n}\nvrrp_instance B {\n interface IFACE\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.2\n }\n}\nvrrp_instance C {\n interface IFACE\n virtual_router_id 5\n mcast_dst_ip 224.0.0.19\n virtual_ipaddress {\n 10.0.0.3\n }\n}\nvrrp_instance D {\n interface IFACE\n virtual_router_id 6\n mcast_dst_ip 10.0.0.9\n virtual_ipaddress {\n 10.0.0.4\n }\n}\nvrrp_instance E {\n interface IFACE\n virtual_router_id 7\n mcast_dst_ip bogus\n virtual_ipaddress {\n 10.0.0.5\n }\n}\nvrrp_instance F {\n interface IFACE\n virtual_router_id 5\n unicast_peer {\n 10.0.0.20\n }\n virtual_ipaddress {\n 10.0.0.6\n }\n}\nvrrp_instance G {\n interface IFACE\n virtual_router_id 5\n unicast_peer {\n 10.0.0.21\n }\n virtual_ipaddress {\n 10.0.0.7\n }\n}\nvrrp_instance H {\n interface IFACE\n virtual_router_id 5\n unicast_peer {\n 10.0.0.21\n 10.0.0.22\n }\n virtual_ipaddress {\n 10.0.0.8\n }\n}\nvrrp_instance I {\n interface IFACE\n virtual_router_id 8\n mcast_dst_ip ff02::13\n virtual_ipaddress {\n fe80::1\n }\n}\n",
    ),
    (
        "keyword_without_its_value_stops",
        "global_defs {\n router_id\n}\nvrrp_instance A {\n interface IFACE\n priority 300\n virtual_router_id\n advert_int\n virtual_ipaddress {\n 10.0.0.1\n }\n}\nbogus\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n foo\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\nvrrp_instance B {\n priority 300\n}\n",
    ),
    (
        "checker_keyword_without_its_value_stops",
        "vrrp_instance A {\n priority 300\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n connect_port\n }\n }\n}\nbogus\nglobal_defs {\n router_id\n}\n",
    ),
    (
        "vrrp_mcast_groups_and_unicast_ttl",
        "global_defs {\n vrrp_mcast_group4 10.0.0.9\n vrrp_mcast_group6 224.0.0.19\n}\nvrrp_instance A {\n interface IFACE\n virtual_router_id 5\n unicast_ttl 64\n virtual_ipaddress {\n 10.0.0.1\n }\n}\nvrrp_instance B {\n interface IFACE\n virtual_router_id 6\n unicast_ttl 300\n unicast_src_ip 10.0.0.2\n unicast_peer {\n 10.0.0.3\n }\n virtual_ipaddress {\n 10.0.0.4\n }\n}\n",
    ),
    (
        "global_keyword_without_its_value_stops",
        "bogus1\nglobal_defs {\n router_id\n umask\n}\nbogus2\nvirtual_server 10.0.0.1 80 {\n protocol\n}\n",
    ),
    (
        "ha_suspend_with_fwmarks_is_cleared",
        "virtual_server_group G {\n 10.0.0.1 80\n fwmark 7\n}\nvirtual_server group G {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n ha_suspend\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\nvirtual_server fwmark 5 {\n lb_algo rr\n lb_kind NAT\n ha_suspend\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\nvirtual_server 10.0.0.1 81 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n ha_suspend\n real_server 10.0.0.2 81 {\n TCP_CHECK {\n }\n }\n}\n",
    ),
];

/// Cases compared strictly: kad flags exactly the lines keepalived flags (kad's notes
/// aside, and kad's placed messages that keepalived prints without a line number) and
/// prints every message keepalived prints without a line number.
const STRICT: &[&str] = &[
    "protocol_lower_case",
    "vip_broadcast_plus_minus",
    "seq_bounds_as_parameters",
    "max_auto_priority_without_value",
    "checker_log_all_failures_and_alpha",
    "nb_get_retry",
    "http_protocol_values",
    "tls_compliant_is_unknown_in_2_2_7",
    "smtp_check_host_blocks",
    "brace_touching_a_name",
    "real_and_virtual_server_ports",
    "quorum_out_of_reach",
    "v3_advert_int_in_centiseconds",
    "strict_master_is_the_address_owner",
    "mcast_dst_ip_and_unicast_make_vrids_distinct",
    "keyword_without_its_value_stops",
    "checker_keyword_without_its_value_stops",
    "global_keyword_without_its_value_stops",
    "vrrp_mcast_groups_and_unicast_ttl",
    "ha_suspend_with_fwmarks_is_cleared",
];

/// An interface that exists on this machine (not loopback).
fn some_interface() -> String {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .find(|n| n != "lo")
        .unwrap_or_else(|| panic!("no network interface besides lo"))
}

fn run(program: &Path, file: &Path) -> (i32, String) {
    let out = Command::new(program)
        .arg("-t")
        .arg("-f")
        .arg(file)
        .arg("-i")
        .arg("kadtest")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// The messages of an output: keepalived's that have no line number; all of kad's but its
/// notes, without their `FILE:LINE:COL: SEVERITY: ` or `SEVERITY: ` prefix.
fn messages(output: &str, file: &Path, kad: bool) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for line in output.lines() {
        let message = if kad {
            let rest = line
                .strip_prefix(&format!("{}:", file.display()))
                .and_then(|r| r.splitn(3, ':').nth(2))
                .map_or(line, str::trim_start);
            if rest.starts_with("note: ") {
                continue;
            }
            let message = ["warning: ", "error: ", "fatal: "]
                .iter()
                .find_map(|p| rest.strip_prefix(p))
                .unwrap_or(rest);
            // A finding made once the whole file is read names its block first, where
            // keepalived prints the bare message: `vrrp_sync_group VG1 (defined at F:1): `.
            match message.split_once(" (defined at ") {
                Some((_, after)) => after.split_once("): ").map_or(message, |(_, m)| m),
                None => message,
            }
        } else {
            let numbered = line
                .strip_prefix('(')
                .and_then(|r| r.split_once(") "))
                .is_some_and(|(place, _)| place.starts_with("Line ") || place.contains(": Line "));
            if numbered {
                continue;
            }
            line
        };
        set.insert(message.trim().to_owned());
    }
    set
}

/// Lines flagged by kad with a warning or worse (notes left out), but for those whose
/// message keepalived prints without a line number (`unnumbered`).
fn lines_flagged_strictly(
    output: &str,
    file: &Path,
    unnumbered: &BTreeSet<String>,
) -> BTreeSet<u32> {
    let kept: Vec<&str> = output
        .lines()
        .filter(|l| !l.contains(": note: "))
        .filter(|l| {
            messages(l, file, true)
                .first()
                .is_none_or(|m| !unnumbered.contains(m))
        })
        .collect();
    kad_lines(&kept.join("\n"), file)
}

#[test]
fn kad_flags_what_keepalived_flags_on_hand_written_mistakes() {
    let keepalived = Path::new("/usr/sbin/keepalived");
    assert!(
        keepalived.exists(),
        "keepalived is not installed: apt-get install keepalived"
    );
    let kad = kad_tests::kad_bin().unwrap_or_else(|e| panic!("the kad binary under test: {e:#}"));
    assert!(
        kad.exists(),
        "{} missing: cargo build -p kad-userspace --bin kad",
        kad.display()
    );
    let iface = some_interface();
    let dir = std::env::temp_dir().join(format!("kad-config-compat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    for (name, text) in CASES {
        let file = dir.join(format!("{name}.conf"));
        std::fs::write(&file, text.replace("IFACE", &iface)).unwrap_or_else(|e| panic!("{e}"));
        let (k_status, k_out) = run(keepalived, &file);
        let (d_status, d_out) = run(&kad, &file);
        let k_lines = keepalived_lines(&k_out, &file);
        let d_lines = kad_lines(&d_out, &file);
        let strict_failure = STRICT.contains(name).then(|| {
            let unnumbered = messages(&k_out, &file, false);
            let exact = lines_flagged_strictly(&d_out, &file, &unnumbered);
            let d_messages = messages(&d_out, &file, true);
            let missing: Vec<&String> = unnumbered
                .iter()
                .filter(|m| !d_messages.contains(*m))
                .collect();
            (exact != k_lines || !missing.is_empty())
                .then(|| format!("(strict) kad flags {exact:?}; messages kad lacks: {missing:?}"))
        });
        if let Some(Some(why)) = strict_failure {
            failures.push(format!(
                "{name}: {why}\n--- keepalived:\n{k_out}--- kad:\n{d_out}"
            ));
        } else if k_status != d_status || !k_lines.is_subset(&d_lines) {
            failures.push(format!(
                "{name}: keepalived exits {k_status} flagging {k_lines:?}; kad exits {d_status} flagging {d_lines:?}\n--- keepalived:\n{k_out}--- kad:\n{d_out}"
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
