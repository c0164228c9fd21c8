//! The `vocabulary!` macro: closed code lists with an English code and a Chinese label.

/// Defines a closed vocabulary with a stable English code and a Chinese label, parsed from either.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = ($code:literal, $zh:literal)),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vdoc])* #[serde(rename = $code)] $variant),+ }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stable English code.
            pub fn code(self) -> &'static str { match self { $($name::$variant => $code),+ } }
            /// The Chinese label.
            pub fn label_zh(self) -> &'static str { match self { $($name::$variant => $zh),+ } }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.code()) }
        }

        impl FromStr for $name {
            type Err = $crate::institution::UnknownValue;
            fn from_str(s: &str) -> Result<Self, $crate::institution::UnknownValue> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.code() == s || v.label_zh() == s)
                    .ok_or_else(|| $crate::institution::UnknownValue {
                        what: stringify!($name),
                        allowed: $name::ALL.iter().map(|v| format!("{} ({})", v.code(), v.label_zh())).collect::<Vec<_>>().join(", "),
                    })
            }
        }
    };
}
