from controller.models.defaulting import apply_defaults, prune

SCHEMA = {
    "type": "object",
    "properties": {
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "state": {"type": "string", "default": "STARTED"},
                "console": {
                    "type": "object",
                    "default": {},
                    "properties": {"mode": {"type": "string", "default": "x"}},
                },
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "plans": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"status": {"type": "string", "default": "PUBLISHED"}},
                    },
                },
                "steps": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"on": {"type": "boolean", "default": True}},
                    },
                },
            },
        },
    },
}


def test_prune_drops_undeclared_fields_but_keeps_metadata_and_free_objects():
    doc = {
        "metadata": {"name": "a", "labels": {"x": "y"}},
        "spec": {"unknown": 1, "free": {"anything": [1]}, "plans": {"p": {"zzz": 1}}},
        "extra": True,
    }
    assert prune(doc, SCHEMA) == {
        "metadata": {"name": "a", "labels": {"x": "y"}},
        "spec": {"free": {"anything": [1]}, "plans": {"p": {}}},
    }


def test_prune_drops_nulls_of_non_nullable_fields():
    assert prune({"spec": {"state": None}}, SCHEMA) == {"spec": {}}


def test_defaults_fill_absent_fields_recursively_including_inside_defaults():
    doc = {"spec": {"plans": {"p": {}}, "steps": [{}, {"on": False}]}}
    assert apply_defaults(doc, SCHEMA) == {
        "spec": {
            "state": "STARTED",
            "console": {"mode": "x"},
            "plans": {"p": {"status": "PUBLISHED"}},
            "steps": [{"on": True}, {"on": False}],
        }
    }
    assert doc == {"spec": {"plans": {"p": {}}, "steps": [{}, {"on": False}]}}


def test_present_values_are_never_overwritten():
    assert apply_defaults({"spec": {"state": "STOPPED"}}, SCHEMA)["spec"]["state"] == "STOPPED"
