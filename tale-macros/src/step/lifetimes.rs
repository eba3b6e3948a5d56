//! Naming elided lifetimes, so that a step's `impl Step` return type can capture them
//! in every edition (`&Order` becomes `&'__tale_l0 Order`), or, for a step with
//! `type = Name`, so that its struct can declare them (`&'a Order`).

use proc_macro2::Span;
use syn::visit_mut::{self, VisitMut};
use syn::{
    GenericArgument, Generics, Lifetime, ParenthesizedGenericArguments, Type, TypeFnPtr,
    TypeReference,
};

/// What an elided lifetime becomes.
enum Mode {
    /// A fresh named lifetime (the inputs).
    Fresh,
    /// A fresh lifetime named `'a`, `'b`, ... but for the names in `taken` (the inputs
    /// of a step with `type = Name`, whose struct shows them).
    Letters { taken: Vec<String> },
    /// The lifetime the elision rules give the output, if any (`None` leaves it).
    Output(Option<Lifetime>),
}

/// Replaces elided lifetimes with fresh named ones (inputs), or with one given
/// lifetime (the output, following the elision rules).
pub(crate) struct Namer {
    /// The lifetimes created so far.
    pub(crate) created: Vec<Lifetime>,
    /// How many elided lifetimes were named.
    pub(crate) elided: usize,
    /// The lifetimes written by name (`'a`, `'static`), each once.
    pub(crate) written: Vec<Lifetime>,
    /// The lifetime that arguments which are references share (`Letters`).
    shared: Option<Lifetime>,
    mode: Mode,
}

impl Namer {
    fn new(mode: Mode) -> Self {
        Namer {
            created: Vec::new(),
            elided: 0,
            written: Vec::new(),
            shared: None,
            mode,
        }
    }

    pub(crate) fn inputs() -> Self {
        Self::new(Mode::Fresh)
    }

    /// Names the elided lifetimes of the inputs `'a`, `'b`, ..., skipping the names
    /// that `generics` declares.
    pub(crate) fn letters(generics: &Generics) -> Self {
        let taken = generics
            .lifetimes()
            .map(|l| l.lifetime.ident.to_string())
            .collect();
        Self::new(Mode::Letters { taken })
    }

    pub(crate) fn output(elided_means: Option<Lifetime>) -> Self {
        Self::new(Mode::Output(elided_means))
    }

    /// A fresh lifetime for an elided one of the inputs.
    pub(crate) fn fresh(&mut self) -> Lifetime {
        self.elided += 1;
        let name = match &self.mode {
            Mode::Letters { taken } => ('a'..='z')
                .map(String::from)
                .find(|name| !taken.contains(name) && !self.created.iter().any(|l| l.ident == name))
                .unwrap_or_else(|| format!("__tale_l{}", self.created.len())),
            _ => format!("__tale_l{}", self.created.len()),
        };
        let lifetime = Lifetime::new(&format!("'{name}"), Span::call_site());
        self.created.push(lifetime.clone());
        lifetime
    }

    /// Names the elided lifetime of an argument that is a reference (`&T`, `&mut T`)
    /// with the one lifetime all such arguments share: a reference is covariant in its
    /// lifetime, so callers lose nothing (other elided lifetimes, which may be
    /// invariant, as in `&mut Vec<&str>`, get lifetimes of their own).
    pub(crate) fn share_reference(&mut self, ty: &mut Type) {
        match ty {
            Type::Paren(paren) => self.share_reference(&mut paren.elem),
            Type::Group(group) => self.share_reference(&mut group.elem),
            Type::Reference(reference) if reference.lifetime.is_none() => {
                let shared = match &self.shared {
                    Some(shared) => {
                        self.elided += 1;
                        shared.clone()
                    }
                    None => {
                        let shared = self.fresh();
                        self.shared = Some(shared.clone());
                        shared
                    }
                };
                reference.lifetime = Some(shared);
            }
            _ => {}
        }
    }

    fn replace(&mut self) -> Option<Lifetime> {
        match &self.mode {
            Mode::Fresh | Mode::Letters { .. } => Some(self.fresh()),
            Mode::Output(meaning) => meaning.clone(),
        }
    }
}

impl VisitMut for Namer {
    fn visit_type_reference_mut(&mut self, reference: &mut TypeReference) {
        if reference.lifetime.is_none() {
            reference.lifetime = self.replace();
        }
        visit_mut::visit_type_reference_mut(self, reference);
    }

    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        if lifetime.ident != "_" {
            // A lifetime just named here is visited too (a reference's).
            if !self.written.contains(lifetime) && !self.created.contains(lifetime) {
                self.written.push(lifetime.clone());
            }
        } else if let Some(named) = self.replace() {
            *lifetime = named;
        }
    }

    fn visit_generic_argument_mut(&mut self, argument: &mut GenericArgument) {
        visit_mut::visit_generic_argument_mut(self, argument);
    }

    // `fn(&T)` and `Fn(&T)` have their own elision scope: leave them alone.
    fn visit_type_fn_ptr_mut(&mut self, _: &mut TypeFnPtr) {}
    fn visit_parenthesized_generic_arguments_mut(&mut self, _: &mut ParenthesizedGenericArguments) {
    }
}
