//! Expand: the fingerprint of a durable saga's shape, journaled when it begins and
//! checked when it resumes, so that a journal written by other code is refused rather
//! than fed to the wrong steps.
//!
//! It covers what replay depends on: each statement's kind (a step or a `join!` of so
//! many branches) in order, each step's label (what it calls: the function or method
//! path, or `.named("...")`), and each output's type where the binding names it. A
//! change to a step's body or arguments leaves it alone (replay answers by position, not
//! by argument); a step's output type that is not written down is checked at replay
//! instead (the journal's output must still deserialize into it).

use quote::ToTokens;
use syn::{Expr, Lit};

use super::ast::Source;
use super::model::{Binding, Saga, SagaStep, Stmt};

/// The saga's fingerprint: FNV-1a (64 bits) over its shape's canonical text.
pub(super) fn fingerprint(saga: &Saga) -> u64 {
    fnv1a(shape(saga).as_bytes())
}

/// The canonical text of the saga's shape, e.g.
/// `saga book_trip;step charge:u64;join[flight,hotel];step confirm;`.
fn shape(saga: &Saga) -> String {
    let mut text = format!("saga {};", saga.name.value());
    for stmt in &saga.stmts {
        match stmt {
            Stmt::Step(step) => {
                text.push_str("step ");
                labelled(step, &mut text);
                text.push(';');
            }
            Stmt::ForEach(each) => {
                text.push_str(if each.concurrent { "join for " } else { "for " });
                text.push_str(&label(&each.step));
                if let Binding::Named { ty: Some(ty), .. } = &each.binding {
                    text.push(':');
                    text.push_str(&tokens(ty));
                }
                text.push(';');
            }
            Stmt::Join(branches) => {
                text.push_str("join[");
                for (i, step) in branches.iter().enumerate() {
                    if i > 0 {
                        text.push(',');
                    }
                    labelled(step, &mut text);
                }
                text.push_str("];");
            }
        }
    }
    text
}

/// What identifies a step: its label, then the type its output is bound to, if written.
fn labelled(step: &SagaStep, text: &mut String) {
    text.push_str(&label(step));
    if let Binding::Named { ty: Some(ty), .. } = &step.binding {
        text.push(':');
        text.push_str(&tokens(ty));
    }
}

/// A step's label: its `.named("...")` literal if any, else what it calls.
pub(super) fn label(step: &SagaStep) -> String {
    let named = step
        .modifiers
        .iter()
        .find_map(|m| match (&m.arg, m.method == "named") {
            (Some(Expr::Lit(lit)), true) => match &lit.lit {
                Lit::Str(name) => Some(name.value()),
                _ => None,
            },
            _ => None,
        });
    let callee = || match &step.source {
        Source::Expr(Expr::Call(call)) => tokens(&call.func),
        Source::Expr(Expr::MethodCall(call)) => call.method.to_string(),
        Source::Expr(other) => tokens(other),
        Source::Closure(_) | Source::Pair(..) => "closure".to_owned(),
    };
    named.unwrap_or_else(callee)
}

/// Tokens as text, without spacing differences.
fn tokens(node: &impl ToTokens) -> String {
    node.to_token_stream()
        .to_string()
        .split_whitespace()
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn of(input: proc_macro2::TokenStream) -> (String, u64) {
        let input = syn::parse2(input).expect("parses");
        let saga = super::super::validate::validate(input).expect("validates");
        (shape(&saga), fingerprint(&saga))
    }

    #[test]
    fn the_shape_names_each_step_and_group_in_order() {
        let (shape, _) = of(quote! {
            #![saga(durable)]
            fn trip(order: &Order, env: &Env) -> Result<u64, DurableError<E>> {
                let charged: u64 = charge(env, order).retry(Retry::times(2));
                let (f, h) = join!(book::flight(env), env.hotel().named("inn"));
                step(|| Ok(()));
                charged
            }
        });
        assert_eq!(
            shape,
            "saga trip;step charge:u64;join[book::flight,inn];step closure;"
        );
    }

    #[test]
    fn what_replay_depends_on_changes_it_and_nothing_else() {
        let base = of(quote! { fn a(i: &I, e: &E) -> R { let x = one(i); two(&x); } }).1;
        let args = of(quote! { fn a(i: &I, e: &E) -> R { let x = one(e, 5); two(&x); } }).1;
        let renamed = of(quote! { fn a(i: &I, e: &E) -> R { let x = uno(i); two(&x); } }).1;
        let swapped = of(quote! { fn a(i: &I, e: &E) -> R { let x = two(i); one(&x); } }).1;
        let grouped = of(quote! { fn a(i: &I, e: &E) -> R { join!(one(i), two(i)); } }).1;
        assert_eq!(base, args, "arguments do not matter");
        assert_ne!(base, renamed);
        assert_ne!(base, swapped);
        assert_ne!(base, grouped);
        let fanned =
            of(quote! { fn a(i: &I, e: &E) -> R { let x = one(i); for n in &x { two(n) } } });
        let joined = of(
            quote! { fn a(i: &I, e: &E) -> R { let x = one(i); join!(for n in &x { two(n) }); } },
        );
        let other_items =
            of(quote! { fn a(i: &I, e: &E) -> R { let x = one(i); for n in e { two(n) } } });
        assert_ne!(base, fanned.1, "a step that becomes a fan-out");
        assert_ne!(fanned.1, joined.1, "a fan-out that becomes concurrent");
        assert_eq!(fanned.1, other_items.1, "what it iterates does not matter");
        assert_eq!(fanned.0, "saga a;step one;for two;");
    }
}
