//! Validate: the options and the function's signature, checked together, into the
//! model that `expand` turns into tokens.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned as _;
use syn::visit_mut::VisitMut;
use syn::{
    Expr, FnArg, GenericParam, Ident, ItemFn, Lifetime, LifetimeParam, LitStr, Pat, Path,
    ReceiverKind, ReturnType, Type,
};

use super::args::StepArgs;
use super::lifetimes::Namer;
use super::type_name;
use crate::diag::Diag;

/// The step's kind, as `saga!` sees it at the type level.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Compensatable,
    Uncompensated,
    Pivot,
    Retriable,
}

/// How the body receives an argument on each attempt.
#[derive(Clone, Copy)]
pub(crate) enum Pass {
    /// `&T`: copied.
    Ref,
    /// `&mut T`: reborrowed.
    MutRef,
    /// `T`: cloned.
    Value,
}

/// One argument of the step function: the receiver or a typed argument.
pub(crate) struct Arg {
    /// The name in the step function's signature (`self` for the receiver).
    pub(crate) name: TokenStream,
    /// The type, with elided lifetimes named (unused for the receiver).
    pub(crate) ty: Option<Type>,
    pub(crate) pass: Pass,
    /// Where errors about this argument point.
    pub(crate) span: Span,
}

/// The futures of a step.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Futures {
    /// A sync step has none.
    None,
    /// An `async fn` step's are `Send`, checked where the step is declared.
    Send,
    /// `#[step(local)]`: they need not be `Send`.
    Local,
}

/// A validated `#[step]` function.
pub(crate) struct StepFn {
    /// The function as written, minus the `#[step]` attribute.
    pub(crate) item: ItemFn,
    /// What the step's futures promise.
    pub(crate) futures: Futures,
    /// Inside an `impl` block: the body becomes a hidden sibling method.
    pub(crate) in_impl: bool,
    pub(crate) kind: Kind,
    pub(crate) compensate: Option<Path>,
    pub(crate) uncertain: bool,
    pub(crate) retry: Option<Expr>,
    pub(crate) compensation_retry: Option<Expr>,
    pub(crate) name: LitStr,
    pub(crate) args: Vec<Arg>,
    /// The receiver with its lifetime named (`&'__tale_l0 self`), if any.
    pub(crate) receiver: Option<FnArg>,
    /// The return type, elided lifetimes named.
    pub(crate) output: Type,
    /// Every lifetime the step value captures.
    pub(crate) lifetimes: Vec<Lifetime>,
    /// The step function's generics: the user's plus the named lifetimes (for a step
    /// with `type = Name`, also the struct's).
    pub(crate) generics: syn::Generics,
    /// `type = Name`: the struct the step function returns, instead of an `impl Step`.
    pub(crate) named: Option<Ident>,
}

impl StepFn {
    /// Whether it is an `async fn`.
    pub(crate) fn is_async(&self) -> bool {
        self.futures != Futures::None
    }
}

/// Checks the options against each other and against the function.
pub(crate) fn validate(args: StepArgs, item: ItemFn) -> syn::Result<StepFn> {
    let mut diag = Diag::new();
    let kind = kind(&args, &mut diag);
    if let (Some(uncertain), None) = (&args.uncertain, &args.compensate) {
        let msg = "`uncertain` needs a compensation to run when the step fails: add `compensate = path::to::undo`";
        diag.error(uncertain.key, msg);
    }
    if let Some(compensate) = &args.compensate
        && compensate.value.is_ident(&item.sig.ident)
    {
        diag.error(
            compensate.value.span(),
            "a step cannot be its own compensation: name the function that undoes it",
        );
    }
    if let Some(compensate) = &args.compensate {
        names_a_function(&compensate.value, &mut diag);
    }
    if let Some(name) = &args.name
        && name.value.value().is_empty()
    {
        diag.error(name.value.span(), "a step name cannot be empty");
    }
    signature(&item, &mut diag);
    let named = args.type_name.as_ref();
    if let Some(name) = named {
        type_name::validate(name, &item, &mut diag);
    }
    let is_async = item.sig.asyncness.is_some();
    if let (Some(local), false) = (&args.local, is_async) {
        diag.error(
            local.key,
            "`local` is for `async fn` steps (their futures need not be `Send`); a sync step has no future: remove `local`",
        );
    }
    let Arguments {
        args: args_model,
        receiver,
        output,
        lifetimes,
        generics,
    } = arguments(&item, named.is_some(), &mut diag);
    diag.finish()?;
    let name = args.name.map_or_else(
        || LitStr::new(&item.sig.ident.to_string(), item.sig.ident.span()),
        |n| n.value,
    );
    Ok(StepFn {
        in_impl: receiver.is_some() || mentions_self(&item),
        kind,
        uncertain: args.uncertain.is_some(),
        futures: match (is_async, args.local.is_some()) {
            (false, _) => Futures::None,
            (true, false) => Futures::Send,
            (true, true) => Futures::Local,
        },
        compensate: args.compensate.map(|c| c.value),
        retry: args.retry.map(|r| r.value),
        compensation_retry: args.compensation_retry.map(|r| r.value),
        name,
        args: args_model,
        receiver,
        output,
        lifetimes,
        generics,
        named: args.type_name.map(|n| n.value),
        item,
    })
}

/// The kind the options give the step; `compensate = ...` with `pivot` or `retriable`
/// is an error at `compensate`, both kinds at once at `retriable`.
fn kind(args: &StepArgs, diag: &mut Diag) -> Kind {
    match (&args.pivot, &args.retriable) {
        (Some(_), Some(retriable)) => {
            diag.error(
                retriable.key,
                "a step is either `pivot` or `retriable`, not both",
            );
            Kind::Pivot
        }
        (Some(_), None) => {
            if let Some(compensate) = &args.compensate {
                diag.error(compensate.key, "a `pivot` step has no compensation: once it succeeds the saga runs to completion; remove `compensate = ...` or `pivot`");
            }
            Kind::Pivot
        }
        (None, Some(_)) => {
            if let Some(compensate) = &args.compensate {
                diag.error(compensate.key, "a `retriable` step is retried until it succeeds and never compensated; remove `compensate = ...` or `retriable`");
            }
            Kind::Retriable
        }
        (None, None) if args.compensate.is_some() => Kind::Compensatable,
        (None, None) => Kind::Uncompensated,
    }
}

/// The parts of a signature a step cannot have, each an error at its own token.
fn signature(item: &ItemFn, diag: &mut Diag) {
    let sig = &item.sig;
    if let Some(constness) = &sig.constness {
        diag.error(
            constness.span,
            "`#[step]` cannot be used on a `const fn`: a step is run by the executor, at run time",
        );
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        diag.error(
            unsafety.span,
            "`#[step]` cannot be used on an `unsafe fn`: wrap the unsafe call in a safe function",
        );
    }
    if let Some(abi) = &sig.abi {
        diag.error(
            abi.extern_token.span,
            "`#[step]` cannot be used on an `extern` function",
        );
    }
    if let Some(variadic) = &sig.variadic {
        diag.error(
            variadic.dots.spans[0],
            "`#[step]` cannot be used on a variadic function",
        );
    }
    match &sig.output {
        ReturnType::Default => diag.error(
            sig.ident.span(),
            "a `#[step]` function returns `Result<Output, Error>`: add the return type",
        ),
        ReturnType::Type(_, ty) if !may_be_result(ty) => {
            let written = written(ty);
            diag.push(syn::Error::new_spanned(
                ty,
                format_args!(
                    "a `#[step]` function returns `Result<Output, Error>`, not `{written}`: return `Result<{written}, E>`, with the step's error type for `E`, and wrap the value in `Ok(...)`; a type alias counts as a `Result` when its name ends in `Result`, like `io::Result<T>`"
                ),
            ));
        }
        ReturnType::Type(..) => {}
    }
}

/// A type as the user would write it, for a message: `Option<u32>`, not the token
/// stream's `Option < u32 >`.
fn written(ty: &Type) -> String {
    let mut text = ty.to_token_stream().to_string();
    for (spaced, tight) in [
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ::", "::"),
        (":: ", "::"),
        (" ,", ","),
        ("& ", "&"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

/// Whether the written return type may be a `Result`: a path whose last segment ends in
/// `Result` (`Result<T, E>`, `io::Result<T>`, an alias `MyResult<T>`), or a macro. The
/// rest (`u32`, `Option<T>`, a tuple, a reference, `impl Trait`) is not, whatever its
/// definition; what a `Result`-named alias stands for is checked at the type level.
pub(super) fn may_be_result(ty: &Type) -> bool {
    match ty {
        Type::Paren(paren) => may_be_result(&paren.elem),
        Type::Group(group) => may_be_result(&group.elem),
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident.to_string().ends_with("Result")),
        Type::Macro(_) | Type::Verbatim(_) => true,
        _ => false,
    }
}

/// A `compensate = ...` path whose last segment is in `UpperCamelCase` names a type or
/// an enum variant, not a function (`compensate = Undo`): rustc's own error would
/// suggest a struct literal. A constant holding a function (`UNDO`) is accepted.
fn names_a_function(path: &Path, diag: &mut Diag) {
    let Some(last) = path.segments.last() else {
        return;
    };
    let name = last.ident.to_string();
    let camel = name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.contains(|c: char| c.is_ascii_lowercase());
    if camel {
        diag.error(
            last.ident.span(),
            format_args!(
                "`compensate = ...` takes a function, and `{name}` is the name of a type or an enum variant: name the function that undoes the step, `compensate = path::to::undo`, taking the step's arguments, then `&Output`, returning `Result<(), E>`"
            ),
        );
    }
}

/// The step function's arguments and return type, with elided lifetimes named.
struct Arguments {
    args: Vec<Arg>,
    /// The receiver with its lifetime named (`&'__tale_l0 self`), if any.
    receiver: Option<FnArg>,
    /// The return type.
    output: Type,
    /// Every lifetime the step value captures.
    lifetimes: Vec<Lifetime>,
    /// The user's generics plus the named lifetimes.
    generics: syn::Generics,
}

/// The arguments with elided lifetimes named, and the generics that declare them. For
/// a step with `type = Name` (`has_type`), the arguments that are references share
/// one lifetime.
fn arguments(item: &ItemFn, has_type: bool, diag: &mut Diag) -> Arguments {
    let mut namer = if has_type {
        Namer::letters(&item.sig.generics)
    } else {
        Namer::inputs()
    };
    let mut args = Vec::new();
    let mut receiver = None;
    let mut self_lifetime = None;
    for (index, input) in item.sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                let mut with_lifetime = r.clone();
                with_lifetime.mutability = None;
                let pass = match &mut with_lifetime.kind {
                    ReceiverKind::Reference(_, lifetime, mutability) => {
                        let l = lifetime.get_or_insert_with(|| namer.fresh()).clone();
                        self_lifetime = Some(l);
                        if mutability.is_some() {
                            Pass::MutRef
                        } else {
                            Pass::Ref
                        }
                    }
                    _ => {
                        diag.error(r.self_token.span, "a `#[step]` method takes `&self` or `&mut self`: the body runs once per attempt, and a by-value `self` would be used up by the first");
                        Pass::Value
                    }
                };
                args.push(Arg {
                    name: r.self_token.to_token_stream(),
                    ty: None,
                    pass,
                    span: r.self_token.span,
                });
                receiver = Some(FnArg::Receiver(with_lifetime));
            }
            FnArg::Typed(typed) => {
                let mut ty = (*typed.ty).clone();
                if has_type {
                    namer.share_reference(&mut ty);
                }
                namer.visit_type_mut(&mut ty);
                let pass = match &ty {
                    Type::Reference(r) if r.mutability.is_some() => Pass::MutRef,
                    Type::Reference(_) => Pass::Ref,
                    _ => Pass::Value,
                };
                let name = match &*typed.pat {
                    // `_name` would trip `clippy::used_underscore_binding` in the expansion.
                    Pat::Ident(p)
                        if p.subpat.is_none()
                            && p.by_ref.is_none()
                            && !p.ident.to_string().starts_with('_') =>
                    {
                        p.ident.to_token_stream()
                    }
                    _ => Ident::new(&format!("tale_arg{index}"), Span::mixed_site())
                        .to_token_stream(),
                };
                args.push(Arg {
                    name,
                    ty: Some(ty),
                    pass,
                    span: typed.ty.span(),
                });
            }
        }
    }
    let inputs_created = namer.created.clone();
    let mut generics = item.sig.generics.clone();
    for lifetime in inputs_created.iter().rev() {
        generics.params.insert(
            0,
            GenericParam::Lifetime(LifetimeParam::new(lifetime.clone())),
        );
    }
    let elided_means = self_lifetime.or_else(|| elided_output(item, has_type, &namer));
    let mut output = match &item.sig.output {
        ReturnType::Type(_, ty) => (**ty).clone(),
        ReturnType::Default => syn::parse_quote!(()),
    };
    Namer::output(elided_means).visit_type_mut(&mut output);
    let lifetimes = generics.lifetimes().map(|l| l.lifetime.clone()).collect();
    Arguments {
        args,
        receiver,
        output,
        lifetimes,
        generics,
    }
}

/// The lifetime an elided lifetime of the output stands for, by the elision rules,
/// when there is no `self`: the one lifetime of the inputs.
fn elided_output(item: &ItemFn, has_type: bool, namer: &Namer) -> Option<Lifetime> {
    let created = &namer.created;
    if !has_type {
        return match created.as_slice() {
            [only] if item.sig.generics.lifetimes().next().is_none() => Some(only.clone()),
            _ => None,
        };
    }
    // Elided or written. With none or several, the body (the function as written) fails
    // to compile anyway; some lifetime here spares the struct's impls a second error.
    match (namer.elided, created.first(), namer.written.as_slice()) {
        (1, Some(only), []) | (0, _, [only]) => Some(only.clone()),
        (_, Some(first), _) => Some(first.clone()),
        _ => Some(Lifetime::new("'static", Span::call_site())),
    }
}

/// Whether the function mentions `Self`, so that it must be in an `impl` block.
pub(super) fn mentions_self(item: &ItemFn) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => ident == "Self",
            TokenTree::Group(group) => walk(group.stream()),
            _ => false,
        })
    }
    walk(item.sig.to_token_stream()) || walk(item.block.to_token_stream())
}
