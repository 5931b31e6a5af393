"""Writes are throttled per user by WRITE_THROTTLE; reads are not."""


def test_writes_over_the_rate_are_429_with_retry_after(world, client_for, settings):
    settings.WRITE_THROTTLE = "3/min"
    client = client_for(world.mentor)
    url = f"/api/cohorts/{world.cohort.pk}/events/1/comments/"
    statuses = [client.post(url, {"text": f"c{i}"}, format="json").status_code for i in range(4)]
    assert statuses == [201, 201, 201, 429]
    response = client.post(url, {"text": "again"}, format="json")
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_the_throttle_is_per_user(world, client_for, settings):
    settings.WRITE_THROTTLE = "1/min"
    url = f"/api/cohorts/{world.cohort.pk}/events/1/kudos/"
    assert client_for(world.mentor).post(url).status_code == 201
    assert client_for(world.learner.user).post(url).status_code == 201


def test_reads_are_not_throttled(world, client_for, settings):
    settings.WRITE_THROTTLE = "1/min"
    client = client_for(world.mentor)
    assert all(client.get("/api/cohorts/").status_code == 200 for _ in range(5))


def test_off_disables_the_write_throttle(world, client_for, settings):
    settings.WRITE_THROTTLE = "off"
    client = client_for(world.mentor)
    url = f"/api/cohorts/{world.cohort.pk}/events/1/comments/"
    assert all(
        client.post(url, {"text": f"c{i}"}, format="json").status_code == 201 for i in range(150)
    )
