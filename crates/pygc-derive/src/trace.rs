//! `#[derive(Trace)]`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{parse_quote, spanned::Spanned, Data, DeriveInput, Error, Fields, Path};

/// Options on the type: `#[pygc(finalize)]`, `#[pygc(finalize, legacy)]`,
/// `#[pygc(tracked)]`, `#[pygc(dynamic_type_name = path)]`,
/// `#[pygc(crate = path)]`.
struct TypeOptions {
    finalize: bool,
    legacy: bool,
    tracked: bool,
    dynamic_type_name: Option<syn::Expr>,
    krate: Path,
}

fn type_options(input: &DeriveInput) -> syn::Result<TypeOptions> {
    let mut o = TypeOptions {
        finalize: false,
        legacy: false,
        tracked: false,
        dynamic_type_name: None,
        krate: parse_quote!(::pygc),
    };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("pygc")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("finalize") {
                o.finalize = true;
            } else if meta.path.is_ident("legacy") {
                o.legacy = true;
            } else if meta.path.is_ident("tracked") {
                o.tracked = true;
            } else if meta.path.is_ident("crate") {
                o.krate = meta.value()?.parse()?;
            } else if meta.path.is_ident("dynamic_type_name") {
                o.dynamic_type_name = Some(meta.value()?.parse()?);
            } else {
                return Err(meta.error(
                    "unknown pygc option; expected `finalize`, `legacy`, `tracked`, \
                     `dynamic_type_name = path` or `crate = path`",
                ));
            }
            Ok(())
        })?;
    }
    if o.legacy && !o.finalize {
        return Err(Error::new(Span::call_site(), "`legacy` needs `finalize`: #[pygc(finalize, legacy)]"));
    }
    Ok(o)
}

/// Options on a field: `#[pygc(skip)]`, `#[pygc(skip, send)]`.
struct FieldOptions {
    skip: bool,
    /// A skipped field that is `Send` (the impl requires it): it does not
    /// stop the type from moving with its heap.
    send: bool,
}

fn field_options(field: &syn::Field) -> syn::Result<FieldOptions> {
    let mut o = FieldOptions { skip: false, send: false };
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("pygc")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                o.skip = true;
                Ok(())
            } else if meta.path.is_ident("send") {
                o.send = true;
                Ok(())
            } else {
                Err(meta.error("unknown pygc field option; expected `skip` or `skip, send`"))
            }
        })?;
    }
    if o.send && !o.skip {
        return Err(Error::new(
            field.span(),
            "`send` applies to skipped fields (#[pygc(skip, send)]); a traced field's own `Trace` says whether it is `SEND`",
        ));
    }
    Ok(o)
}

/// What one field adds to the impl: its `TRACKED`/`FROZEN`/`SEND` terms,
/// and for a `#[pygc(skip, send)]` field the bound that it is `Send`.
#[derive(Default)]
struct Terms {
    tracked: Vec<TokenStream>,
    frozen: Vec<TokenStream>,
    send: Vec<TokenStream>,
    weak: Vec<TokenStream>,
    send_bounds: Vec<TokenStream>,
}

impl Terms {
    /// Records `field`; returns whether it is traced.
    fn add(&mut self, field: &syn::Field, krate: &Path) -> syn::Result<bool> {
        let o = field_options(field)?;
        let ty = &field.ty;
        if o.skip {
            if o.send {
                self.send_bounds.push(quote!(#ty: ::core::marker::Send));
            } else {
                self.send.push(quote!(false));
            }
            return Ok(false);
        }
        self.tracked.push(quote!(<#ty as #krate::Trace>::TRACKED));
        self.frozen.push(quote!(<#ty as #krate::Trace>::FROZEN));
        self.send.push(quote!(<#ty as #krate::Trace>::SEND));
        self.weak.push(quote!(<#ty as #krate::Trace>::HOLDS_WEAK));
        Ok(true)
    }
}

/// The label of a field: its name without `r#`, or its position.
fn label(field: &syn::Field, index: usize) -> String {
    match &field.ident {
        Some(id) => id.to_string().trim_start_matches("r#").to_string(),
        None => index.to_string(),
    }
}

pub fn derive(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(ts) => ts,
        Err(e) => e.to_compile_error(),
    }
}

fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let mut input: DeriveInput = syn::parse2(input)?;
    let opts = type_options(&input)?;
    let krate = &opts.krate;

    let mut terms = Terms::default();
    let body = match &input.data {
        Data::Struct(s) => {
            let mut visits = Vec::new();
            for (i, f) in s.fields.iter().enumerate() {
                if !terms.add(f, krate)? {
                    continue;
                }
                let name = label(f, i);
                let access = match &f.ident {
                    Some(id) => quote!(self.#id),
                    None => {
                        let idx = syn::Index::from(i);
                        quote!(self.#idx)
                    }
                };
                visits.push(quote! {
                    #krate::Visitor::field(v, #name, |v| #krate::Trace::trace(&#access, v));
                });
            }
            quote!(#(#visits)*)
        }
        Data::Enum(e) => {
            let mut arms = Vec::new();
            for variant in &e.variants {
                let vname = &variant.ident;
                let mut binds = Vec::new();
                let mut visits = Vec::new();
                for (i, f) in variant.fields.iter().enumerate() {
                    let bind = format_ident!("__pygc_f{}", i);
                    let skipped = !terms.add(f, krate)?;
                    match &f.ident {
                        Some(id) if skipped => binds.push(quote!(#id: _)),
                        Some(id) => binds.push(quote!(#id: #bind)),
                        None if skipped => binds.push(quote!(_)),
                        None => binds.push(quote!(#bind)),
                    }
                    if skipped {
                        continue;
                    }
                    let name = label(f, i);
                    visits.push(quote! {
                        #krate::Visitor::field(v, #name, |v| #krate::Trace::trace(#bind, v));
                    });
                }
                let pattern = match &variant.fields {
                    Fields::Named(_) => quote!(Self::#vname { #(#binds),* }),
                    Fields::Unnamed(_) => quote!(Self::#vname ( #(#binds),* )),
                    Fields::Unit => quote!(Self::#vname),
                };
                arms.push(quote!(#pattern => { #(#visits)* }));
            }
            if arms.is_empty() {
                quote!(match *self {})
            } else {
                quote!(match self { #(#arms)* })
            }
        }
        Data::Union(u) => {
            return Err(Error::new(
                u.union_token.span(),
                "Trace cannot be derived for a union: pygc cannot know which field holds handles",
            ))
        }
    };

    for param in input.generics.type_params_mut() {
        param.bounds.push(parse_quote!(#krate::Trace));
    }
    if !terms.send_bounds.is_empty() {
        let bounds = &terms.send_bounds;
        input
            .generics
            .make_where_clause()
            .predicates
            .extend(bounds.iter().map(|b| -> syn::WherePredicate { parse_quote!(#b) }));
    }
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();

    let tracked_terms = &terms.tracked;
    let frozen_terms = &terms.frozen;
    let send_terms = &terms.send;
    let weak_terms = &terms.weak;
    let tracked = if opts.tracked { quote!(true) } else { quote!(false #(|| #tracked_terms)*) };
    let finalizer = if opts.finalize {
        let legacy = opts.legacy;
        quote! {
            const HAS_FINALIZER: bool = true;
            const LEGACY_FINALIZER: bool = #legacy;
            fn finalize(this: &#krate::Gc<Self>) {
                <Self as #krate::Finalize>::finalize(this)
            }
            fn needs_finalize(&self) -> bool {
                <Self as #krate::Finalize>::needs_finalize(self)
            }
        }
    } else {
        quote!()
    };

    let dynamic_type_name = match &opts.dynamic_type_name {
        Some(f) => quote! {
            #[inline]
            fn dynamic_type_name(&self) -> ::core::option::Option<&str> {
                let f: fn(&Self) -> ::core::option::Option<&str> = #f;
                f(self)
            }
        },
        None => quote!(),
    };

    Ok(quote! {
        // SAFETY: generated by #[derive(Trace)]: every field that is not
        // `#[pygc(skip)]` is traced through its own `Trace` impl, once, in
        // declaration order, and nothing else is done.
        unsafe impl #impl_generics #krate::Trace for #name #ty_generics #where_clause {
            const TRACKED: bool = #tracked;
            const FROZEN: bool = true #(&& #frozen_terms)*;
            const SEND: bool = true #(&& #send_terms)*;
            const HOLDS_WEAK: bool = false #(|| #weak_terms)*;
            #finalizer
            #dynamic_type_name
            #[allow(unused_variables)]
            #[inline]
            fn trace<__PygcV: #krate::Visitor>(&self, v: &mut __PygcV) {
                #body
            }
        }
    })
}
