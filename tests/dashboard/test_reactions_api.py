"""Kudos (one per person per event) and comments, each appending one event."""

import pytest

from dashboard.models import Comment, Event


def kudos_url(world, seq):
    return f"/api/cohorts/{world.cohort.pk}/events/{seq}/kudos/"


def comments_url(world, seq):
    return f"/api/cohorts/{world.cohort.pk}/events/{seq}/comments/"


def test_first_kudos_is_201_and_appends_kudos_added(world, client_for):
    response = client_for(world.mentor).post(kudos_url(world, 1))
    assert response.status_code == 201
    assert response.json() == {"event": 1, "kudos": 1}
    event = Event.objects.get(cohort=world.cohort, seq=4)
    assert event.kind == "kudos.added"
    assert event.data == {"event": 1, "kudos": 1}


def test_second_kudos_by_the_same_person_is_200_and_changes_nothing(world, client_for):
    client = client_for(world.mentor)
    client.post(kudos_url(world, 1))
    head = Event.objects.filter(cohort=world.cohort).count()
    response = client.post(kudos_url(world, 1))
    assert response.status_code == 200
    assert response.json() == {"event": 1, "kudos": 1}
    assert Event.objects.filter(cohort=world.cohort).count() == head


def test_kudos_from_several_people_add_up(world, client_for):
    client_for(world.mentor).post(kudos_url(world, 1))
    response = client_for(world.learner.user).post(kudos_url(world, 1))
    assert response.json() == {"event": 1, "kudos": 2}
    snapshot = client_for(world.mentor).get(f"/api/cohorts/{world.cohort.pk}/snapshot/").json()
    assert next(e for e in snapshot["feed"] if e["seq"] == 1)["kudos"] == 2


def test_the_log_carries_events_as_published_so_reactions_count_once(world, client_for):
    client = client_for(world.mentor)
    client.post(kudos_url(world, 1))
    client.post(comments_url(world, 1), {"text": "one"}, format="json")
    log = client.get(f"/api/cohorts/{world.cohort.pk}/events/").json()["results"]
    assert (log[0]["kudos"], log[0]["comments"]) == (0, 0)  # as published
    # A reader applying the log gets each reaction once.
    assert [e["kind"] for e in log[-2:]] == ["kudos.added", "comment.added"]
    assert log[-2]["data"] == {"event": 1, "kudos": 1}


def test_kudos_on_a_kudos_event_is_400(world, client_for):
    client_for(world.mentor).post(kudos_url(world, 1))
    response = client_for(world.learner.user).post(kudos_url(world, 4))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_reactable"


def test_kudos_on_a_missing_event_is_404(world, client_for):
    assert client_for(world.mentor).post(kudos_url(world, 999)).status_code == 404


def test_kudos_in_a_hidden_cohort_is_404(world, other_world, client_for):
    assert client_for(other_world.mentor).post(kudos_url(world, 1)).status_code == 404


def test_comment_is_201_with_the_comment_and_appends_comment_added(world, client_for):
    response = client_for(world.learner.user).post(
        comments_url(world, 2), {"text": "  Nice work!  "}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["event"] == 2
    assert body["text"] == "Nice work!"
    assert body["author"] == {"id": world.learner.user.pk, "name": "Learner 0"}
    event = Event.objects.get(cohort=world.cohort, seq=4)
    assert event.kind == "comment.added"
    assert event.data == body
    assert Event.objects.get(cohort=world.cohort, seq=2).comment_count == 1


def test_comment_text_is_stored_as_given_not_interpreted(world, client_for):
    text = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    response = client_for(world.mentor).post(comments_url(world, 1), {"text": text}, format="json")
    assert response.json()["text"] == text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   "},
        {"text": "x" * 501},
        {"text": 5},
        {"text": None},
        {"text": ["a"]},
        {"text": "ok", "extra": 1},
    ],
)
def test_bad_comments_are_400_and_leave_nothing(world, client_for, body):
    response = client_for(world.mentor).post(comments_url(world, 1), body, format="json")
    assert response.status_code == 400
    assert Comment.objects.count() == 0
    assert Event.objects.filter(kind="comment.added").count() == 0


def test_a_500_character_comment_is_accepted(world, client_for):
    response = client_for(world.mentor).post(
        comments_url(world, 1), {"text": "x" * 500}, format="json"
    )
    assert response.status_code == 201


def test_comments_of_an_event_are_listed_oldest_first(world, client_for):
    client = client_for(world.mentor)
    for text in ("first", "second", "third"):
        client.post(comments_url(world, 2), {"text": text}, format="json")
    client.post(comments_url(world, 1), {"text": "elsewhere"}, format="json")
    listed = client_for(world.learner.user).get(comments_url(world, 2)).json()
    assert [c["text"] for c in listed] == ["first", "second", "third"]
    assert listed[0]["author"] == {"id": world.mentor.pk, "name": "Mentor Person"}
    page = client.get(comments_url(world, 2) + f"?after={listed[0]['id']}&limit=1").json()
    assert [c["text"] for c in page] == ["second"]


def test_comments_of_a_missing_or_hidden_event_are_404(world, other_world, client_for):
    assert client_for(world.mentor).get(comments_url(world, 999)).status_code == 404
    assert client_for(other_world.mentor).get(comments_url(world, 1)).status_code == 404


def test_bad_comment_paging_is_400(world, client_for):
    response = client_for(world.mentor).get(comments_url(world, 1) + "?limit=0")
    assert response.status_code == 400
