//! A JSON object that serialises its members in insertion order.
//!
//! serde_json's `Map` sorts members unless the workspace-wide `preserve_order` feature is on, and turning that on
//! from this crate would change every other crate's output through feature unification. Entra's tokens and SCIM
//! bodies have a recognisable member order, and byte-exact request assertions need a stable one, so the few
//! documents we emit are built with this type instead.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderedObject(Vec<(String, Node)>);

/// A member value: plain JSON, or a nested object/array whose order matters too.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Plain(Value),
    Object(OrderedObject),
    Array(Vec<Node>),
}

impl Node {
    fn to_value(&self) -> Value {
        match self {
            Node::Plain(v) => v.clone(),
            Node::Object(o) => o.to_value(),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
        }
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Plain(v) => v.serialize(serializer),
            Node::Object(o) => o.serialize(serializer),
            Node::Array(items) => items.serialize(serializer),
        }
    }
}

macro_rules! plain_node {
    ($($t:ty),*) => {$(
        impl From<$t> for Node {
            fn from(v: $t) -> Self {
                Node::Plain(Value::from(v))
            }
        }
    )*};
}
plain_node!(Value, &str, String, bool, i64, u64);

impl From<&String> for Node {
    fn from(v: &String) -> Self {
        Node::Plain(Value::String(v.clone()))
    }
}

impl From<OrderedObject> for Node {
    fn from(o: OrderedObject) -> Self {
        Node::Object(o)
    }
}

impl From<Vec<OrderedObject>> for Node {
    fn from(items: Vec<OrderedObject>) -> Self {
        Node::Array(items.into_iter().map(Node::Object).collect())
    }
}

impl OrderedObject {
    pub fn new() -> Self {
        OrderedObject(Vec::new())
    }

    /// Sets `name`, keeping its original position when it already exists.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Node>) {
        let name = name.into();
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    pub fn with(mut self, name: impl Into<String>, value: impl Into<Node>) -> Self {
        self.set(name, value);
        self
    }

    pub fn remove(&mut self, name: &str) -> Option<Node> {
        let idx = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(idx).1)
    }

    pub fn get(&self, name: &str) -> Option<&Node> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compact JSON text in insertion order.
    pub fn to_json(&self) -> String {
        // Serialising strings and `Value`s into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// An unordered `Value` (for inspection, not for emitting).
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.iter().map(|(n, v)| (n.clone(), v.to_value())).collect())
    }
}

impl Serialize for OrderedObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_insertion_order_and_position_on_overwrite() {
        let mut o = OrderedObject::new().with("z", 1i64).with("a", 2i64);
        o.set("z", 3i64);
        assert_eq!(o.to_json(), r#"{"z":3,"a":2}"#);
        assert_eq!(o.remove("z"), Some(Node::from(3i64)));
        o.set("n", OrderedObject::new().with("y", "1").with("b", true));
        assert_eq!(o.to_json(), r#"{"a":2,"n":{"y":"1","b":true}}"#);
    }
}
