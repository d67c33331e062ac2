//! VRRP state machine: see issue 4. (module owned by the FSM work)
