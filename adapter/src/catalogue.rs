//! The closed lists of the contract, each declared once: a variant, its wire name and its doc.

/// `Operation`: the enum (tagged by `op`), `Operation::NAMES` and `Operation::name`.
macro_rules! operations {
    ($($(#[$doc:meta])* $name:literal => $variant:ident($input:ty),)+) => {
        /// One thing the RP is asked to do. Tagged by `op`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "op", deny_unknown_fields)]
        #[non_exhaustive]
        pub enum Operation {
            $($(#[$doc])* #[serde(rename = $name)] $variant($input),)+
        }

        impl Operation {
            /// Every operation name the harness knows.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            pub fn name(&self) -> &'static str {
                match self {
                    $(Operation::$variant(_) => $name,)+
                }
            }
        }
    };
}

/// `Reason`: the enum, `Reason::ALL` and `Reason::as_str`.
macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)+) => {
        #[doc = "The closed list of reason classes. Extend it deliberately: RPs in other languages map onto it."]
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            JsonSchema,
        )]
        #[non_exhaustive]
        pub enum Reason {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)+
        }

        impl Reason {
            pub const ALL: &'static [Reason] = &[$(Reason::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $name,)+
                }
            }
        }
    };
}
