//! The one shape of an option list, `#[step(...)]` and `#![saga(...)]` alike: a table
//! of keys, each set at most once, from which the messages about unknown keys and
//! missing values are derived.

use proc_macro2::Span;
use syn::Token;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;

use crate::diag::{did_you_mean, duplicate};

/// A value and the span of the key that set it.
pub(crate) struct Spanned<T> {
    pub(crate) key: Span,
    pub(crate) value: T,
}

/// A key as written: its name and its span.
#[derive(Clone, Copy)]
pub(crate) struct KeyAt {
    name: &'static str,
    span: Span,
}

impl KeyAt {
    /// Sets `slot` once; a second time is "duplicate `key` option" at the second key,
    /// with a note at the first.
    pub(crate) fn set_once<T>(self, slot: &mut Option<Spanned<T>>, value: T) -> syn::Result<()> {
        if let Some(first) = slot {
            return Err(duplicate(self.name, first.key, self.span));
        }
        *slot = Some(Spanned {
            key: self.span,
            value,
        });
        Ok(())
    }
}

/// One option of a table, filling the options `T` of its attribute.
pub(crate) struct Key<T: 'static> {
    pub(crate) name: &'static str,
    form: Form<T>,
}

/// How an option is written.
enum Form<T: 'static> {
    /// `name` alone; the slot it sets.
    Flag(fn(&mut T) -> &mut Option<Spanned<()>>),
    /// `name = value`, shown to the user as `form` (`compensate = path::to::undo`);
    /// `set` parses the value into its slot.
    Value {
        form: &'static str,
        set: fn(&mut T, KeyAt, ParseStream<'_>) -> syn::Result<()>,
    },
}

impl<T> Key<T> {
    /// A flag: `name`, without a value.
    pub(crate) const fn flag(
        name: &'static str,
        slot: fn(&mut T) -> &mut Option<Spanned<()>>,
    ) -> Self {
        Key {
            name,
            form: Form::Flag(slot),
        }
    }

    /// `name = value`, written as `form`; `set` parses the value and sets it once.
    pub(crate) const fn value(
        name: &'static str,
        form: &'static str,
        set: fn(&mut T, KeyAt, ParseStream<'_>) -> syn::Result<()>,
    ) -> Self {
        Key {
            name,
            form: Form::Value { form, set },
        }
    }
}

/// The options of one attribute.
pub(crate) struct Table<T: 'static> {
    /// The attribute, as messages name it: "unknown `step` option".
    pub(crate) attr: &'static str,
    /// What the unknown-option message calls a key written as a path (`a::b`).
    pub(crate) unnamed: &'static str,
    pub(crate) keys: &'static [Key<T>],
    /// Rejects a value written after a flag, in the attribute's own words.
    pub(crate) no_value: fn(&ParseNestedMeta<'_>, &str) -> syn::Result<()>,
}

impl<T> Table<T> {
    /// Parses one option into `out`. An unknown key is an error at the key that lists
    /// (and suggests from) the keys for which `listed` is true; every key of the table
    /// is accepted whether listed or not.
    pub(crate) fn parse(
        &self,
        meta: &ParseNestedMeta<'_>,
        out: &mut T,
        listed: impl Fn(&str) -> bool,
    ) -> syn::Result<()> {
        let Some(ident) = meta.path.get_ident() else {
            return Err(self.unknown(meta, self.unnamed, listed));
        };
        let name = ident.to_string();
        let Some(key) = self.keys.iter().find(|key| key.name == name) else {
            return Err(self.unknown(meta, &name, listed));
        };
        let at = KeyAt {
            name: key.name,
            span: ident.span(),
        };
        match &key.form {
            Form::Flag(slot) => {
                (self.no_value)(meta, key.name)?;
                at.set_once(slot(out), ())
            }
            Form::Value { form, set } => {
                // Checked here: syn's own "expected `=`" would land on the whole attribute.
                if !meta.input.peek(Token![=]) {
                    return Err(meta.error(format_args!("expected `{form}`")));
                }
                set(out, at, meta.value()?)
            }
        }
    }

    /// "unknown `step` option `retries`; did you mean `retry`? (expected `compensate`, ...)".
    fn unknown(
        &self,
        meta: &ParseNestedMeta<'_>,
        key: &str,
        listed: impl Fn(&str) -> bool,
    ) -> syn::Error {
        let attr = self.attr;
        let keys: Vec<&str> = self
            .keys
            .iter()
            .map(|key| key.name)
            .filter(|name| listed(name))
            .collect();
        let expected = expected(&keys);
        match did_you_mean(key, &keys) {
            Some(close) => meta.error(format_args!(
                "unknown `{attr}` option `{key}`; did you mean `{close}`? ({expected})"
            )),
            None => meta.error(format_args!("unknown `{attr}` option `{key}`; {expected}")),
        }
    }
}

/// "expected `a`, `b` or `c`".
fn expected(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => format!("expected {last}"),
        Some((last, rest)) => format!("expected {} or {last}", rest.join(", ")),
        None => String::new(),
    }
}
