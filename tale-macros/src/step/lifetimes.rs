//! Naming elided lifetimes, so that a step's `impl Step` return type can capture them
//! in every edition (`&Order` becomes `&'__tale_l0 Order`).

use proc_macro2::Span;
use syn::visit_mut::{self, VisitMut};
use syn::{GenericArgument, Lifetime, ParenthesizedGenericArguments, TypeFnPtr, TypeReference};

/// What an elided lifetime becomes.
enum Mode {
    /// A fresh named lifetime (the inputs).
    Fresh,
    /// The lifetime the elision rules give the output, if any (`None` leaves it).
    Output(Option<Lifetime>),
}

/// Replaces elided lifetimes with fresh named ones (inputs), or with one given
/// lifetime (the output, following the elision rules).
pub(crate) struct Namer {
    /// The lifetimes created so far.
    pub(crate) created: Vec<Lifetime>,
    mode: Mode,
}

impl Namer {
    pub(crate) fn inputs() -> Self {
        Namer {
            created: Vec::new(),
            mode: Mode::Fresh,
        }
    }

    pub(crate) fn output(elided_means: Option<Lifetime>) -> Self {
        Namer {
            created: Vec::new(),
            mode: Mode::Output(elided_means),
        }
    }

    /// A fresh lifetime for the inputs.
    pub(crate) fn fresh(&mut self) -> Lifetime {
        let lifetime = Lifetime::new(
            &format!("'__tale_l{}", self.created.len()),
            Span::call_site(),
        );
        self.created.push(lifetime.clone());
        lifetime
    }

    fn replace(&mut self) -> Option<Lifetime> {
        match &self.mode {
            Mode::Fresh => Some(self.fresh()),
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
        if lifetime.ident == "_"
            && let Some(named) = self.replace()
        {
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
