//! The RFC-pure PATCH engine: one operation at a time against a canonical document (RFC 7644 §3.5.2.1–§3.5.2.3).
//! Values are written as given; their types are checked when the finished document is re-validated.

use serde_json::{Map, Value};

use super::{PatchOp, PatchOperation, PatchPath};
use crate::error::ScimError;
use crate::filter::{Filter, matches_element};
use crate::json::{equal_typed, get_ci, get_mut_ci, is_unassigned, key_ci, remove_ci};
use crate::schema::{AttributeDef, Mutability, ResourceSchema, SchemaDef};

pub(crate) fn apply_operation(
    doc: &mut Map<String, Value>,
    op: &PatchOperation,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    match &op.path {
        None => apply_without_path(doc, op, schema),
        Some(path) => apply_with_path(doc, op, path, schema),
    }
}

fn ensure_object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(members) => members,
        _ => unreachable!("the value was just made an object"),
    }
}

/// The object an attribute lives in: the document, or the extension object (created for writes).
fn scope_mut<'a>(doc: &'a mut Map<String, Value>, extension: Option<&SchemaDef>) -> &'a mut Map<String, Value> {
    match extension {
        None => doc,
        Some(ext) => {
            let key = key_ci(doc, &ext.id).unwrap_or_else(|| ext.id.clone());
            ensure_object(doc.entry(key).or_insert(Value::Null))
        }
    }
}

/// RFC 7644 §3.5.2.1 / §3.5.2.3 without `path`: the value object lists attributes of the resource itself.
fn apply_without_path(
    doc: &mut Map<String, Value>,
    op: &PatchOperation,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    if op.op == PatchOp::Remove {
        return Err(ScimError::no_target(
            "a remove operation needs a 'path' naming what to remove",
        ));
    }
    let Some(Value::Object(attributes)) = &op.value else {
        return Err(ScimError::invalid_value(format!(
            "an {} operation without 'path' needs an object value listing the attributes to change",
            op.op.as_str()
        )));
    };
    for (key, value) in attributes {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            write_extension_object(doc, op.op, &ext.schema, value)?;
            continue;
        }
        if key.contains(':') {
            // Data of an extension this deployment does not serve: ignored, as in POST bodies.
            continue;
        }
        match schema.top_level(key) {
            Some(def) if def.mutability != Mutability::ReadOnly => {
                write_whole(scope_mut(doc, None), op.op, def, value.clone())?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn write_extension_object(
    doc: &mut Map<String, Value>,
    op: PatchOp,
    ext: &SchemaDef,
    value: &Value,
) -> Result<(), ScimError> {
    match value {
        Value::Null => {
            if op == PatchOp::Replace {
                remove_ci(doc, &ext.id);
            }
            Ok(())
        }
        Value::Object(attributes) => {
            for (name, v) in attributes {
                if let Some(def) = ext.attribute(name)
                    && def.mutability != Mutability::ReadOnly
                {
                    write_whole(scope_mut(doc, Some(ext)), op, def, v.clone())?;
                }
            }
            Ok(())
        }
        _ => Err(ScimError::invalid_value(format!(
            "'{}' must be an object holding the extension's attributes",
            ext.id
        ))),
    }
}

fn check_immutable(
    def: &AttributeDef,
    label: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<(), ScimError> {
    if def.mutability != Mutability::Immutable {
        return Ok(());
    }
    match before.filter(|v| !is_unassigned(v)) {
        None => Ok(()),
        Some(old) if after.is_some_and(|new| equal_typed(old, new, def)) => Ok(()),
        Some(_) => Err(ScimError::mutability(format!(
            "'{label}' is immutable and already has a value"
        ))),
    }
}

/// Add or replace a whole attribute: lists are appended to (add) or replaced; a complex value's sub-attributes are
/// merged (§3.5.2.3: "sub-attributes that are not specified ... are left unchanged"); simple values are set. A null
/// replacement unassigns the attribute (RFC 7643 §2.5).
fn write_whole(
    container: &mut Map<String, Value>,
    op: PatchOp,
    def: &AttributeDef,
    value: Value,
) -> Result<(), ScimError> {
    let existing = get_ci(container, &def.name).cloned();
    let new_value = if value.is_null() {
        match op {
            PatchOp::Add => return Ok(()),
            _ => None,
        }
    } else if def.multi_valued {
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        let (mut list, touched) = match (op, existing.clone()) {
            (PatchOp::Add, Some(Value::Array(mut list))) => {
                let mut touched = Vec::new();
                for item in items {
                    match list.iter().position(|e| equal_typed(e, &item, def)) {
                        Some(i) => touched.push(i),
                        None => {
                            list.push(item);
                            touched.push(list.len() - 1);
                        }
                    }
                }
                (list, touched)
            }
            _ => {
                let len = items.len();
                (items, (0..len).collect())
            }
        };
        fix_primaries(&mut list, &touched);
        (!list.is_empty()).then_some(Value::Array(list))
    } else if def.is_complex() {
        let Value::Object(subs) = value else {
            return Err(ScimError::invalid_value(format!(
                "'{}' must be an object with sub-attributes",
                def.name
            )));
        };
        let mut merged = existing
            .clone()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        for (name, v) in subs {
            let Some(sub) = def.sub_attribute(&name) else {
                continue;
            };
            if sub.mutability == Mutability::ReadOnly {
                continue;
            }
            let before = get_ci(&merged, &sub.name).cloned();
            check_immutable(sub, &format!("{}.{}", def.name, sub.name), before.as_ref(), Some(&v))?;
            remove_ci(&mut merged, &sub.name);
            if !v.is_null() {
                merged.insert(sub.name.clone(), v);
            }
        }
        (!merged.is_empty()).then_some(Value::Object(merged))
    } else {
        Some(value)
    };
    check_immutable(def, &def.name, existing.as_ref(), new_value.as_ref())?;
    remove_ci(container, &def.name);
    if let Some(v) = new_value {
        container.insert(def.name.clone(), v);
    }
    Ok(())
}

fn apply_with_path(
    doc: &mut Map<String, Value>,
    op: &PatchOperation,
    path: &PatchPath,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let value = op.value.clone().unwrap_or(Value::Null);
    if path.filter.is_none()
        && path.sub_attr.is_none()
        && let Some(ext) = schema.extension_root(&path.attr)
    {
        if op.op == PatchOp::Remove {
            remove_ci(doc, &ext.schema.id);
            return Ok(());
        }
        return write_extension_object(doc, op.op, &ext.schema, &value);
    }
    if schema.is_unknown_schema(&path.attr) {
        return Ok(());
    }
    let Some(resolved) = schema.resolve(&path.attr) else {
        return Err(ScimError::invalid_path(format!("unknown attribute in path \"{path}\"")));
    };
    let attr = resolved.attr;
    let sub = match (resolved.sub, &path.sub_attr) {
        (Some(sub), None) => Some(sub),
        (None, Some(name)) => Some(attr.sub_attribute(name).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "'{}' has no sub-attribute '{name}' (path \"{path}\")",
                attr.name
            ))
        })?),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(ScimError::invalid_path(format!(
                "path \"{path}\" names two sub-attributes"
            )));
        }
    };
    if attr.mutability == Mutability::ReadOnly || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly) {
        return Err(ScimError::mutability(format!(
            "'{}' is readOnly",
            resolved.display_path()
        )));
    }
    if path.filter.is_some() && !attr.is_complex() {
        return Err(ScimError::invalid_path(format!(
            "'{}' is not a complex attribute, so a value filter cannot select its values (path \"{path}\")",
            attr.name
        )));
    }
    let container = if op.op == PatchOp::Remove {
        match resolved.extension {
            Some(ext) => match get_mut_ci(doc, &ext.id) {
                Some(Value::Object(members)) => members,
                _ => return Ok(()),
            },
            None => doc,
        }
    } else {
        scope_mut(doc, resolved.extension)
    };
    match (&path.filter, sub) {
        (None, None) => {
            if op.op == PatchOp::Remove {
                remove_ci(container, &attr.name);
                Ok(())
            } else {
                write_whole(container, op.op, attr, value)
            }
        }
        (None, Some(sub)) => write_sub_of_all(container, op.op, attr, sub, value),
        (Some(filter), sub) => write_filtered(container, op.op, attr, filter, sub, value, path),
    }
}

/// An element left with nothing but its `type` / `primary` labels carries no data any more.
fn is_dataless(element: &Value) -> bool {
    match element {
        Value::Object(members) => members
            .iter()
            .all(|(k, v)| is_unassigned(v) || k.eq_ignore_ascii_case("type") || k.eq_ignore_ascii_case("primary")),
        other => is_unassigned(other),
    }
}

fn set_sub(element: &mut Value, sub: &AttributeDef, value: &Value, label: &str) -> Result<(), ScimError> {
    let object = ensure_object(element);
    let before = get_ci(object, &sub.name).cloned();
    check_immutable(sub, label, before.as_ref(), Some(value))?;
    remove_ci(object, &sub.name);
    if !value.is_null() {
        object.insert(sub.name.clone(), value.clone());
    }
    Ok(())
}

/// `name.givenName` (single-valued parent) or `emails.value` (every element of a multi-valued parent; an absent
/// list gets one element).
fn write_sub_of_all(
    container: &mut Map<String, Value>,
    op: PatchOp,
    attr: &AttributeDef,
    sub: &AttributeDef,
    value: Value,
) -> Result<(), ScimError> {
    let label = format!("{}.{}", attr.name, sub.name);
    let removing = op == PatchOp::Remove || (op == PatchOp::Replace && value.is_null());
    if op == PatchOp::Add && value.is_null() {
        return Ok(());
    }
    if !attr.multi_valued {
        if removing {
            if let Some(Value::Object(object)) = get_mut_ci(container, &attr.name) {
                remove_ci(object, &sub.name);
                if object.values().all(is_unassigned) {
                    remove_ci(container, &attr.name);
                }
            }
            return Ok(());
        }
        let key = key_ci(container, &attr.name).unwrap_or_else(|| attr.name.clone());
        let element = container.entry(key).or_insert(Value::Null);
        return set_sub(element, sub, &value, &label);
    }
    let key = key_ci(container, &attr.name).unwrap_or_else(|| attr.name.clone());
    if removing {
        if let Some(Value::Array(items)) = container.get_mut(&key) {
            for item in items.iter_mut() {
                if let Value::Object(object) = item {
                    remove_ci(object, &sub.name);
                }
            }
            items.retain(|e| !is_dataless(e));
            if items.is_empty() {
                container.remove(&key);
            }
        }
        return Ok(());
    }
    let list = container.entry(key).or_insert(Value::Null);
    if !matches!(list, Value::Array(items) if !items.is_empty()) {
        *list = Value::Array(vec![Value::Object(Map::new())]);
    }
    if let Value::Array(items) = list {
        for item in items.iter_mut() {
            set_sub(item, sub, &value, &label)?;
        }
        let touched: Vec<usize> = (0..items.len()).collect();
        fix_primaries(items, &touched);
    }
    Ok(())
}

/// `attr[filter]` and `attr[filter].sub`: the elements the filter selects.
fn write_filtered(
    container: &mut Map<String, Value>,
    op: PatchOp,
    attr: &AttributeDef,
    filter: &Filter,
    sub: Option<&AttributeDef>,
    value: Value,
    path: &PatchPath,
) -> Result<(), ScimError> {
    let key = key_ci(container, &attr.name).unwrap_or_else(|| attr.name.clone());
    let mut items: Vec<Value> = match container.get(&key) {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(single) => vec![single.clone()],
    };
    let matched: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, e)| matches_element(filter, e, attr))
        .map(|(i, _)| i)
        .collect();

    let removing = op == PatchOp::Remove || (op == PatchOp::Replace && value.is_null());
    if removing {
        remove_matched(&mut items, &matched, sub);
    } else {
        if op == PatchOp::Add && value.is_null() {
            return Ok(());
        }
        if matched.is_empty() {
            return Err(ScimError::no_target(format!(
                "no value of '{}' matches the filter in path \"{path}\"",
                attr.name
            )));
        }
        match sub {
            Some(sub) => {
                let label = format!("{}.{}", attr.name, sub.name);
                for &i in &matched {
                    if let Some(item) = items.get_mut(i) {
                        set_sub(item, sub, &value, &label)?;
                    }
                }
            }
            None => write_matched_elements(&mut items, &matched, op, attr, &value, path)?,
        }
        fix_primaries(&mut items, &matched);
    }
    put_elements(container, key, attr, items);
    Ok(())
}

/// Removes the matched elements, or with `sub` that sub-attribute of each (and then the elements left without data).
fn remove_matched(items: &mut Vec<Value>, matched: &[usize], sub: Option<&AttributeDef>) {
    if let Some(sub) = sub {
        for &i in matched {
            if let Some(Value::Object(object)) = items.get_mut(i) {
                remove_ci(object, &sub.name);
            }
        }
    }
    let mut index = 0;
    items.retain(|e| {
        let drop = matched.contains(&index) && (sub.is_none() || is_dataless(e));
        index += 1;
        !drop
    });
}

/// `attr[filter]` with an object value: `replace` swaps each matched element for it (immutable sub-attributes that
/// have a value must keep it); `add` sets the sub-attributes it names.
fn write_matched_elements(
    items: &mut [Value],
    matched: &[usize],
    op: PatchOp,
    attr: &AttributeDef,
    value: &Value,
    path: &PatchPath,
) -> Result<(), ScimError> {
    let Value::Object(new_subs) = value else {
        return Err(ScimError::invalid_value(format!(
            "the value for path \"{path}\" must be an object with sub-attributes of '{}'",
            attr.name
        )));
    };
    for &i in matched {
        let Some(item) = items.get_mut(i) else {
            continue;
        };
        if op == PatchOp::Replace {
            for s in attr
                .sub_attributes
                .iter()
                .filter(|s| s.mutability == Mutability::Immutable)
            {
                let before = item.as_object().and_then(|o| get_ci(o, &s.name)).cloned();
                let after = get_ci(new_subs, &s.name);
                check_immutable(s, &format!("{}.{}", attr.name, s.name), before.as_ref(), after)?;
            }
            *item = Value::Object(new_subs.clone());
        } else {
            for (name, v) in new_subs {
                if let Some(s) = attr.sub_attribute(name) {
                    set_sub(item, s, v, &format!("{}.{}", attr.name, s.name))?;
                }
            }
        }
    }
    Ok(())
}

/// Stores the elements back under `key`: a list for a multi-valued attribute (removed when empty), else the one
/// element (removed when unassigned).
fn put_elements(container: &mut Map<String, Value>, key: String, attr: &AttributeDef, items: Vec<Value>) {
    if attr.multi_valued {
        if items.is_empty() {
            container.remove(&key);
        } else {
            container.insert(key, Value::Array(items));
        }
    } else {
        match items.into_iter().next() {
            Some(item) if !is_unassigned(&item) => {
                container.insert(key, item);
            }
            _ => {
                container.remove(&key);
            }
        }
    }
}

fn is_primary(element: &Value) -> bool {
    element
        .as_object()
        .and_then(|o| get_ci(o, "primary"))
        .and_then(Value::as_bool)
        == Some(true)
}

fn clear_primary(element: &mut Value) {
    if let Value::Object(object) = element
        && let Some(flag) = get_mut_ci(object, "primary")
    {
        *flag = Value::Bool(false);
    }
}

/// RFC 7644 §3.5.2: making one value primary makes the others non-primary. The last touched primary value wins.
fn fix_primaries(items: &mut [Value], touched: &[usize]) {
    let Some(&keep) = touched.iter().rev().find(|&&i| items.get(i).is_some_and(is_primary)) else {
        return;
    };
    for (i, item) in items.iter_mut().enumerate() {
        if i != keep && is_primary(item) {
            clear_primary(item);
        }
    }
}

/// A safety net after all operations: if a list still has several primary values (a stored document from before
/// these rules, or a `replace` carrying several), the first keeps the flag.
pub(crate) fn settle_primaries(doc: &mut Map<String, Value>, schema: &ResourceSchema) {
    let settle = |scope: &mut Map<String, Value>, attributes: &[AttributeDef]| {
        for attr in attributes.iter().filter(|a| a.multi_valued && a.is_complex()) {
            if let Some(Value::Array(items)) = get_mut_ci(scope, &attr.name)
                && let Some(first) = items.iter().position(is_primary)
            {
                for (i, item) in items.iter_mut().enumerate() {
                    if i != first && is_primary(item) {
                        clear_primary(item);
                    }
                }
            }
        }
    };
    settle(doc, &schema.core.attributes);
    for ext in &schema.extensions {
        if let Some(Value::Object(scope)) = get_mut_ci(doc, &ext.schema.id) {
            settle(scope, &ext.schema.attributes);
        }
    }
}
