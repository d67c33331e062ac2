//! VRRP packet codec: see issue 4. (module owned by the codec work)
