//! What the tool is told: its own config file and settings, the manager
//! config (from the controller or a local file), and the bounds on inputs.

pub mod config_source;
pub mod limits;
pub mod manager_config;
pub mod settings;
pub mod yaml_doc;
pub mod yaml_shape;
