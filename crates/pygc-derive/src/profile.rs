//! `#[profile]`: instruments a function for memory_profiler's line table.
//!
//! Each statement of the body (and of loop, `if` and block bodies, at any
//! depth) gets a `enter(line!())` call before it; each loop gets an
//! `iter(line)` call at the head of every iteration and after it ends, so the
//! loop line counts iterations + 1 occurrences as Python's does; every
//! `return e` and the tail expression become `ret(e)`, which records the last
//! line while the locals are alive. Closures, async blocks and nested items
//! are left alone. Line numbers come from `line!()` spanned at each
//! statement, so they are the real source lines.
//!
//! Arguments: `precision = N`, `measure = Rss | Heap | Auto`,
//! `stream = <expr: impl io::Write + 'static>`, and `crate = <path>`, the
//! path to the runtime (default `::pygc::memory_profiler`; the runtime crate's
//! own tests say `crate = memory_profiler`).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{parse_quote, Block, Expr, ExprLit, Ident, ItemFn, Lit, Path, Stmt};

struct Args {
    krate: Path,
    precision: Option<Expr>,
    measure: Option<Ident>,
    stream: Option<Expr>,
}

fn parse_args(attr: TokenStream) -> syn::Result<Args> {
    let mut args = Args {
        krate: parse_quote!(::pygc::memory_profiler),
        precision: None,
        measure: None,
        stream: None,
    };
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            args.krate = meta.value()?.parse()?;
        } else if meta.path.is_ident("precision") {
            let e: Expr = meta.value()?.parse()?;
            match &e {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(i), ..
                }) => {
                    i.base10_parse::<usize>()?;
                }
                Expr::Lit(l) => {
                    return Err(syn::Error::new(l.span(), "precision must be an integer"));
                }
                _ => {}
            }
            args.precision = Some(e);
        } else if meta.path.is_ident("measure") {
            let id: Ident = meta.value()?.parse()?;
            if !["Rss", "Heap", "Auto"].contains(&id.to_string().as_str()) {
                return Err(syn::Error::new(
                    id.span(),
                    "measure must be Rss, Heap or Auto",
                ));
            }
            args.measure = Some(id);
        } else if meta.path.is_ident("stream") {
            args.stream = Some(meta.value()?.parse()?);
        } else {
            return Err(meta.error(
                "unknown #[profile] argument; expected precision, measure, stream or crate",
            ));
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(args)
}

pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand_inner(attr, item) {
        Ok(t) => t,
        Err(e) => e.to_compile_error(),
    }
}

fn line_of(span: Span) -> TokenStream {
    quote_spanned!(span=> ::core::line!())
}

fn expand_inner(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = parse_args(attr)?;
    let mut f: ItemFn = syn::parse2(item)?;
    let krate = &args.krate;
    let prof = Ident::new("__pygc_prof", Span::mixed_site());

    let first_span = f
        .attrs
        .first()
        .map(|a| a.pound_token.span)
        .unwrap_or_else(|| match &f.vis {
            syn::Visibility::Inherited => f.sig.fn_token.span,
            v => v.span(),
        });
    let first_line = line_of(first_span);
    let last_line = line_of(f.block.brace_token.span.close());
    let name = f.sig.ident.to_string();

    ReturnRewriter { prof: &prof }.visit_block_mut(&mut f.block);
    let unit = match &f.sig.output {
        syn::ReturnType::Default => true,
        syn::ReturnType::Type(_, t) => matches!(&**t, syn::Type::Tuple(t) if t.elems.is_empty()),
    };
    let mut inst = Instrument { prof: &prof, unit };
    inst.block(&mut f.block, true);

    let precision = args.precision.map(|p| quote!(.precision(#p)));
    let measure = args.measure.map(|m| quote!(.measure(#krate::Measure::#m)));
    let stream = args.stream.map(|s| quote!(.stream(#s)));
    let stmts = &f.block.stmts;
    let body = quote! {{
        static __PYGC_SITE: #krate::Site = #krate::Site {
            file: ::core::file!(),
            manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
            module: ::core::module_path!(),
            name: #name,
            first_line: #first_line,
            last_line: #last_line,
        };
        let #prof = #krate::LineProfiler::start(
            &__PYGC_SITE,
            #krate::Options::default() #precision #measure #stream,
        );
        #(#stmts)*
    }};
    *f.block = syn::parse2(body)?;
    Ok(quote!(#f))
}

struct Instrument<'a> {
    prof: &'a Ident,
    /// The function returns `()`, so a body without a tail gets `ret(())`.
    unit: bool,
}

impl Instrument<'_> {
    /// Instruments a block's statements; `fn_body` makes the tail a `ret`.
    fn block(&mut self, block: &mut Block, fn_body: bool) {
        let prof = self.prof;
        let old = std::mem::take(&mut block.stmts);
        let n = old.len();
        for (i, mut stmt) in old.into_iter().enumerate() {
            if matches!(stmt, Stmt::Item(_)) {
                block.stmts.push(stmt);
                continue;
            }
            let line = line_of(stmt_start(&stmt));
            match &mut stmt {
                Stmt::Local(l) => {
                    if let Some(init) = &mut l.init {
                        self.expr(&mut init.expr);
                    }
                }
                Stmt::Expr(e, _) => self.expr(e),
                _ => {}
            }
            block.stmts.push(parse_quote!(#prof.enter(#line);));
            match stmt {
                Stmt::Expr(e, None) if fn_body && i + 1 == n => {
                    block
                        .stmts
                        .push(Stmt::Expr(parse_quote!(#prof.ret(#e)), None));
                }
                s => block.stmts.push(s),
            }
        }
        let ends = matches!(
            block.stmts.last(),
            Some(Stmt::Expr(_, None) | Stmt::Expr(Expr::Return(_), _))
        );
        if fn_body && self.unit && !ends {
            block
                .stmts
                .push(Stmt::Expr(parse_quote!(#prof.ret(())), None));
        }
    }

    /// Instruments statements inside a statement-level expression.
    fn expr(&mut self, e: &mut Expr) {
        let prof = self.prof;
        match e {
            Expr::ForLoop(l) => {
                let line = line_of(l.for_token.span);
                self.block(&mut l.body, false);
                l.body.stmts.insert(0, parse_quote!(#prof.iter(#line);));
                self.wrap_loop(e, line);
            }
            Expr::While(l) => {
                let line = line_of(l.while_token.span);
                self.block(&mut l.body, false);
                l.body.stmts.insert(0, parse_quote!(#prof.iter(#line);));
                self.wrap_loop(e, line);
            }
            Expr::Loop(l) => {
                let line = line_of(l.loop_token.span);
                self.block(&mut l.body, false);
                l.body.stmts.insert(0, parse_quote!(#prof.iter(#line);));
                self.wrap_loop(e, line);
            }
            Expr::If(i) => {
                self.block(&mut i.then_branch, false);
                if let Some((_, els)) = &mut i.else_branch {
                    match &mut **els {
                        Expr::Block(b) => self.block(&mut b.block, false),
                        other => self.expr(other),
                    }
                }
            }
            Expr::Block(b) if b.label.is_none() => self.block(&mut b.block, false),
            Expr::Unsafe(b) => self.block(&mut b.block, false),
            _ => {}
        }
    }

    /// `{ let v = <loop>; iter(line); v }`: the loop head's last evaluation.
    fn wrap_loop(&mut self, e: &mut Expr, line: TokenStream) {
        let prof = self.prof;
        let inner = std::mem::replace(e, parse_quote!(()));
        *e = parse_quote!({
            let __pygc_v = #inner;
            #prof.iter(#line);
            __pygc_v
        });
    }
}

fn stmt_start(s: &Stmt) -> Span {
    match s {
        Stmt::Local(l) => l.let_token.span,
        Stmt::Macro(m) => m.mac.path.span(),
        Stmt::Expr(e, _) => first_span(e),
        Stmt::Item(i) => i.span(),
    }
}

/// The span of an expression's first token (its start line).
fn first_span(e: &Expr) -> Span {
    let mut tokens = quote!(#e).into_iter();
    tokens.next().map_or_else(Span::call_site, |t| t.span())
}

/// Rewrites `return e` into `return prof.ret(e)`, outside closures, async
/// blocks and nested items.
struct ReturnRewriter<'a> {
    prof: &'a Ident,
}

impl VisitMut for ReturnRewriter<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            Expr::Closure(_) | Expr::Async(_) => {}
            Expr::Return(r) => {
                let prof = self.prof;
                if let Some(v) = &mut r.expr {
                    self.visit_expr_mut(v);
                    let inner = std::mem::replace(&mut **v, parse_quote!(()));
                    **v = parse_quote!(#prof.ret(#inner));
                } else {
                    r.expr = Some(Box::new(parse_quote!(#prof.ret(()))));
                }
            }
            _ => syn::visit_mut::visit_expr_mut(self, e),
        }
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(attr: TokenStream, item: TokenStream) -> String {
        expand(attr, item).to_string()
    }

    #[test]
    fn default_runtime_path_and_calls() {
        let out = expanded(
            quote!(),
            quote!(
                fn f(x: u32) -> u32 {
                    let y = x;
                    y
                }
            ),
        );
        assert!(
            out.contains(":: pygc :: memory_profiler :: LineProfiler :: start"),
            "{out}"
        );
        assert!(out.contains(". enter ("), "{out}");
        assert!(out.contains(". ret (y)"), "{out}");
    }

    #[test]
    fn crate_argument_and_options() {
        let out = expanded(
            quote!(crate = my::rt, precision = 3, measure = Heap, stream = w()),
            quote!(
                fn f() {}
            ),
        );
        assert!(out.contains("my :: rt :: LineProfiler :: start"), "{out}");
        assert!(out.contains(". precision (3)"), "{out}");
        assert!(out.contains("my :: rt :: Measure :: Heap"), "{out}");
        assert!(out.contains(". stream (w ())"), "{out}");
    }

    #[test]
    fn bad_arguments_are_compile_errors() {
        for attr in [
            quote!(bogus = 1),
            quote!(measure = Fast),
            quote!(precision = "x"),
        ] {
            let out = expanded(
                attr.clone(),
                quote!(
                    fn f() {}
                ),
            );
            assert!(out.contains("compile_error"), "{attr}: {out}");
        }
        let out = expanded(
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert!(out.contains("compile_error"), "{out}");
    }

    #[test]
    fn closures_keep_their_returns() {
        let out = expanded(
            quote!(),
            quote!(
                fn f() -> u8 {
                    let c = || {
                        return 1u8;
                    };
                    c()
                }
            ),
        );
        assert!(out.contains("return 1u8"), "{out}");
        assert!(!out.contains("ret (1u8)"), "{out}");
    }
}
